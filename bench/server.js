// One contender: an Express 5 app on a free loopback port, run as a child of run.js (or
// profile.js), which tells it what to be through BENCH_SERVER (JSON: contender, scenario,
// prefix) and hears back its port over IPC. The message 'cpu' asks for its CPU time; 'exit'
// ends it cleanly (so that --cpu-prof writes its profile).
import express from 'express';
import { contenders } from './contenders.js';
import { loginData } from './common.js';

const { contender: id, scenario, prefix, heapProfile } = JSON.parse(process.env.BENCH_SERVER || '{}');
const contender = contenders[id];
if (!contender) throw new Error(`unknown contender ${id}`);

const { middleware, close } = await contender.create({ scenario, prefix });
const heap = heapProfile ? await startHeapSampling() : undefined;
const app = express();
if (middleware) app.use(middleware);

let logins = 0;
let counter = 0;

// Creates a logged-in session for the load generator (one per connection).
app.get('/login', (req, res) => {
  Object.assign(req.session, loginData(++logins));
  res.send('logged in');
});

// read: a logged-in session, used and left unmodified.
app.get('/read', (req, res) => {
  if (!middleware) {
    res.send('hello User 1');
    return;
  }
  const user = req.session.user;
  if (!user) {
    res.status(401).send('no session');
    return;
  }
  res.send(`hello ${user.name}`);
});

// write: a counter in the session, incremented by every request.
app.get('/write', (req, res) => {
  if (!middleware) {
    res.send(`count ${++counter}`);
    return;
  }
  if (!req.session.user) {
    res.status(401).send('no session');
    return;
  }
  req.session.count = (req.session.count || 0) + 1;
  res.send(`count ${req.session.count}`);
});

// new: no cookie; with saveUninitialized the middleware makes and saves a new session.
app.get('/new', (req, res) => {
  res.send('hello');
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port });
});
server.keepAliveTimeout = 60_000;

process.on('message', async (message) => {
  // CPU time this process has used, in microseconds: the load generator asks before and after a
  // measurement, for the CPU cost per request, which other load on the machine barely moves.
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system });
    return;
  }
  if (message !== 'exit') return;
  await heap?.stop();
  server.close();
  server.closeAllConnections();
  await close?.();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));

/**
 * For profile.js --heap: V8's sampling heap profiler, counting objects that the GC already
 * collected too, so it shows where the garbage of each request comes from. Written to
 * `heapProfile` (a .heapprofile file, which Chrome DevTools opens) on exit.
 */
async function startHeapSampling() {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(heapProfile, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
