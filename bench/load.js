// Starting contender processes and loading them with wrk (or autocannon).
import { fork, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const { fetch } = globalThis;

const serverFile = fileURLToPath(new URL('./server.js', import.meta.url));

/**
 * Forks server.js as `contender`; resolves once it listens. `execArgv` adds Node flags
 * (--cpu-prof); `heapProfile` is a file for a sampling heap profile of the run; `env`, variables
 * of the server's own (BENCH_SESSIONKIT: which build of sessionkit it loads).
 */
export async function startServer({ contender, scenario, prefix, execArgv = [], heapProfile, env = {} }) {
  const child = fork(serverFile, [], {
    env: { ...process.env, ...env, BENCH_SERVER: JSON.stringify({ contender, scenario, prefix, heapProfile }) },
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
    /** The CPU time (user + system, microseconds) the server has used so far, and the requests it has served. */
    usage() {
      return new Promise((resolve) => {
        const onMessage = (m) => {
          if (typeof m?.cpu !== 'number') return;
          child.off('message', onMessage);
          resolve(m);
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

/** The load generator: wrk when it is installed (it takes far less CPU than autocannon), else autocannon. */
let installedTool;
export function defaultTool() {
  installedTool ??= spawnSync('wrk', ['-v']).error ? 'autocannon' : 'wrk';
  return installedTool;
}

const luaScript = fileURLToPath(new URL('./cookies.lua', import.meta.url));

/**
 * Loads `path` for `duration` seconds with `connections` keep-alive connections. With `cookies`,
 * each request carries the next cookie of the list in turn (one cookie: every request writes the
 * same session). `cpuPerRequest` is the server's CPU time per request it served, in microseconds
 * (its own process only, not Redis's nor the load generator's). Any non-2xx response or socket error
 * fails the measurement: a contender that drops requests has no throughput to compare.
 */
export async function load({ server, path, cookies, duration, connections, tool = defaultTool() }) {
  const before = await server.usage();
  const result = tool === 'wrk'
    ? await loadWrk({ port: server.port, path, cookies, duration, connections })
    : await loadAutocannon({ port: server.port, path, cookies, duration, connections });
  const after = await server.usage();
  const served = after.served - before.served;
  return { ...result, served, cpuPerRequest: (after.cpu - before.cpu) / served };
}

async function loadWrk({ port, path, cookies, duration, connections }) {
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-bench-'));
  try {
    const file = join(dir, 'cookies.txt');
    writeFileSync(file, (cookies ?? []).join('\n') + '\n');
    const args = ['-t1', `-c${connections}`, '--timeout', '10s', `-d${Math.max(1, Math.round(duration))}s`, '-s', luaScript, `http://127.0.0.1:${port}${path}`, '--', file];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}): ${err.trim() || out.trim()}`);
    const r = JSON.parse(line.slice('BENCH_JSON '.length));
    const failures = r.status + r.connect + r.read + r.write + r.timeout;
    if (failures > 0) {
      throw new Error(
        `${path} on port ${port}: ${r.status} non-2xx responses, ${r.connect + r.read + r.write} socket errors, ` +
          `${r.timeout} timeouts out of ${r.requests}`,
      );
    }
    return { rps: r.requests / (r.durationUs / 1e6), p50: r.p50Us / 1000, p99: r.p99Us / 1000, requests: r.requests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Latencies are taken from each response's own timer, in microsecond resolution (autocannon's
 * histogram counts whole milliseconds, too coarse for a loopback server).
 */
async function loadAutocannon({ port, path, cookies, duration, connections }) {
  let next = 0;
  const latencies = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    duration,
    pipelining: 1,
    requests: cookies
      ? [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) }]
      : undefined,
  });
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await instance;
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
  };
}
