// Starting contender processes and loading them with autocannon.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const { fetch } = globalThis;

const serverFile = fileURLToPath(new URL('./server.js', import.meta.url));

/**
 * Forks server.js as `contender`; resolves once it listens. `execArgv` adds Node flags
 * (--cpu-prof); `heapProfile` is a file for a sampling heap profile of the run.
 */
export async function startServer({ contender, scenario, prefix, execArgv = [], heapProfile }) {
  const child = fork(serverFile, [], {
    env: { ...process.env, BENCH_SERVER: JSON.stringify({ contender, scenario, prefix, heapProfile }) },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${contender} did not start within 20 s`)), 20_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${contender} exited with code ${code} before listening`));
    });
  });
  return {
    contender,
    port,
    child,
    /** The CPU time (user + system, microseconds) the server has used so far. */
    cpu() {
      return new Promise((resolve) => {
        const onMessage = (m) => {
          if (typeof m?.cpu !== 'number') return;
          child.off('message', onMessage);
          resolve(m.cpu);
        };
        child.on('message', onMessage);
        child.send('cpu');
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send('exit');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Logs in `count` sessions on the server and returns their cookies (`name=value`). */
export async function login(port, count) {
  const cookies = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/login`);
    const cookie = res.headers.getSetCookie()[0];
    if (res.status !== 200 || !cookie) throw new Error(`login failed on port ${port}: HTTP ${res.status}, no session cookie`);
    await res.arrayBuffer();
    cookies.push(cookie.split(';')[0]);
  }
  return cookies;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Loads `path` for `duration` seconds with `connections` keep-alive connections, each with
 * its own session cookie when `cookies` are given (so concurrent writes never share a session).
 * Latencies are taken from each response's own timer, in microsecond resolution (autocannon's
 * histogram counts whole milliseconds, too coarse for a loopback server). `cpuPerRequest` is the
 * server's CPU time per request in microseconds (its own process only, not Redis's).
 */
export async function load({ server, path, cookies, duration, connections }) {
  const { port } = server;
  const cpuBefore = await server.cpu();
  let next = 0;
  const latencies = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    duration,
    pipelining: 1,
    setupClient: cookies ? (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] }) : undefined,
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
  const cpu = (await server.cpu()) - cpuBefore;
  const failures = result.non2xx + result.errors + result.timeouts;
  if (failures > 0) {
    throw new Error(
      `${path} on port ${port}: ${result.non2xx} non-2xx responses, ${result.errors} errors, ${result.timeouts} timeouts ` +
        'out of ' + result.requests.total,
    );
  }
  latencies.sort((a, b) => a - b);
  return {
    rps: result.requests.total / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: result.requests.total,
    cpuPerRequest: cpu / result.requests.total,
  };
}
