// `npm start`: builds the package only when dist/ is missing or older than its sources (and
// quietly), so that the first thing printed is the demo's URL; then runs the server.
import { buildIfNeeded } from './build.js';

buildIfNeeded();
await import('./server.js');
