/**
 * Session IDs: the default generator, a genid given the request, one that returns no
 * string, one that always returns the same ID.
 */
import type { Scenario } from '../harness.js';
import { get } from './common.js';
import { methodRoutes } from './methods.js';

/** genid in the forms express-session accepts. */
export const genidScenarios: Scenario[] = [
  {
    name: 'default genid: 24 random bytes, base64url',
    tags: ['genid'],
    randomIds: true,
    steps: [get('/set?a=1'), get('/view'), get('/regenerate')],
    routes: methodRoutes,
  },
  {
    name: 'genid receives the request',
    tags: ['genid'],
    options: () => ({ genid: (req: any) => `for-${new URL(req.url, 'http://x').pathname.slice(1) || 'root'}` }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'a genid that returns no string leaves the session unsaved',
    tags: ['genid'],
    options: () => ({ genid: () => 42 }),
    steps: [get('/set?a=1'), get('/view')],
  },
  {
    name: 'a genid that always returns the same id',
    tags: ['genid'],
    options: () => ({ genid: () => 'constant' }),
    routes: methodRoutes,
    // (Deliberately not '/regenerate-save': express-session saves such a session twice, see docs.)
    steps: [get('/set?a=1'), get('/regenerate'), get('/view'), get('/set?b=2'), get('/view')],
  },
];
