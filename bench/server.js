// One contender's server on a free loopback port, run as a child of run.js (or profile.js),
// which tells it what to be through BENCH_SERVER (JSON: contender, scenario, prefix) and hears
// back its port over IPC. The message 'cpu' asks for its CPU time; 'exit'
// ends it cleanly (so that --cpu-prof writes its profile).
import { createServer, Server } from 'node:http';
import { contenders } from './contenders.js';
import { expressServer } from './express-server.js';
import { routes } from './routes.js';

const { contender: id, scenario, prefix, heapProfile } = JSON.parse(process.env.BENCH_SERVER || '{}');
const contender = contenders[id];
if (!contender) throw new Error(`unknown contender ${id}`);

// A contender is an Express middleware unless it brings its own server (`serve`): the server
// gets what `create` made and the benchmark's routes, and returns a request listener or an
// http.Server not yet listening.
const created = await contender.create({ scenario, prefix });
const serve = contender.serve ?? expressServer;
const made = await serve({ ...created, routes, scenario });
const server = made instanceof Server ? made : createServer(made);
const heap = heapProfile ? await startHeapSampling() : undefined;

server.keepAliveTimeout = 60_000;
// Requests this process has answered, counted by the server itself (the load generator doesn't
// count the ones still in flight when it stops).
let served = 0;
server.on('request', () => served++);
server.listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port });
});

process.on('message', async (message) => {
  // CPU time this process has used, in microseconds: the load generator asks before and after a
  // measurement, for the CPU cost per request, which other load on the machine barely moves.
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system, served });
    return;
  }
  if (message !== 'exit') return;
  await heap?.stop();
  server.close();
  server.closeAllConnections();
  await created.close?.();
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
