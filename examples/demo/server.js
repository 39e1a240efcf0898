// `npm start`: the demo app on PORT (default 3000), with the store SESSION_STORE names
// (default sqlite, a file under data/). See docs/demo.md.
import { createApp } from './app.js';
import { settingsFrom } from './settings.js';
import { openStore } from './stores.js';

const env = process.env;
const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number; got ${JSON.stringify(env.PORT)}`);
  process.exit(1);
}
const secret = env.SESSION_SECRET || 'sessionkit demo secret: set SESSION_SECRET for anything real';
if (!env.SESSION_SECRET && env.NODE_ENV === 'production') {
  console.error('SESSION_SECRET must be set when NODE_ENV=production');
  process.exit(1);
}

let settings;
try {
  settings = settingsFrom(env);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
const { absoluteTimeout, maxSessionsPerUser, onLimit } = settings;

let opened;
try {
  opened = await openStore(env.SESSION_STORE || 'sqlite', env, { maxSessionsPerUser, onLimit });
} catch (err) {
  console.error(`Could not open the session store: ${err.message}`);
  process.exit(1);
}

const { store, sessionMiddleware, label, limits } = opened;
// Each session event (created, regenerated, expired...) is a line here, and on the user's sessions page.
const app = createApp({ store, sessionMiddleware, storeLabel: label, secret, absoluteTimeout, limits, log: console.log });
const host = env.HOST || undefined;
const server = app.listen(port, host, (err) => {
  if (err) {
    console.error(`Could not listen on port ${port}: ${err.message}`);
    process.exit(1);
  }
  const { port: actual } = server.address();
  const shown = !host || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  console.log(`sessionkit demo on http://${shown}:${actual} (sessions: ${label})`);
});

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  // Requests in flight finish (and save their sessions) before the store closes; idle
  // keep-alive connections are closed at once, and nothing waits more than five seconds.
  await new Promise((resolve) => {
    server.close(resolve);
    server.closeIdleConnections();
    setTimeout(resolve, 5000).unref();
  });
  await opened.close().catch((err) => console.error(err));
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
