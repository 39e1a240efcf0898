// The web adapter on each runtime: sessionkit/web with a MemoryStore, served by node:http (through
// @hono/node-server), Bun.serve and Deno.serve, against the same server on the same runtime with
// no session at all. The servers are test/runtimes/server.mjs; the load is wrk (-t1 -c32), in
// short rounds that take every runtime and variant in turn, so that a change in the machine's
// load falls on all of them alike. Prints each one's median requests per second and the ratio.
//
//   node bench/runtimes.js [--rounds 3] [--duration 3] [--connections 32]
//
// Needs the build (npm run build), wrk, and Bun and Deno (bash scripts/runtimes.sh).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { fetch } = globalThis;

const root = join(import.meta.dirname, '..');
let connections = 32;
const SESSIONS = 64;

const runtimes = ['node', 'bun', 'deno'];
const variants = ['session', 'bare'];
const scenarios = [
  { name: 'read', path: '/read', what: 'a logged-in session, read and left unmodified' },
  { name: 'write', path: '/count', what: 'a counter in the session, written by every request' },
];

function command(runtime) {
  if (runtime === 'node') return [process.execPath, []];
  const binary = process.env[`${runtime.toUpperCase()}_PATH`] || join(root, '.runtimes', 'bin', runtime);
  if (!existsSync(binary)) throw new Error(`${runtime} is not installed at ${binary}: run bash scripts/runtimes.sh`);
  return runtime === 'bun' ? [binary, []] : [binary, ['run', '--allow-all', '--no-lock']];
}

/** Starts server.mjs on `runtime`; resolves with its URL and a stop(). */
function start(runtime, variant) {
  const [file, args] = command(runtime);
  const config = { front: 'web', store: variant === 'session' ? 'memory' : 'none' };
  const child = spawn(file, [...args, join(root, 'test', 'runtimes', 'server.mjs')], {
    cwd: root,
    env: { ...process.env, SK_SERVER: JSON.stringify(config), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${runtime} server did not start`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${runtime} server exited (${code})`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const ready = /READY (\d+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const exited = new Promise((done) => child.once('exit', done));
      resolve({ url: `http://127.0.0.1:${ready[1]}`, stop: () => (child.kill('SIGTERM'), exited) });
    });
  });
}

/** Logs in SESSIONS sessions on a server; the file of their cookies, one a line, for cookies.lua. */
async function login(url, dir, name) {
  const lines = [];
  for (let i = 1; i <= SESSIONS; i++) {
    const res = await fetch(`${url}/login?user=User%20${i}`);
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    if (!res.ok || !cookie) throw new Error(`login on ${url} gave ${res.status}`);
    lines.push(cookie);
  }
  const file = join(dir, `${name}.cookies`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** One wrk run: requests per second, and whether every answer was a 2xx. */
function load(url, cookies, seconds) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', join(root, 'bench', 'cookies.lua'), url, '--', cookies];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}): ${out}`));
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      const errors = r.connect + r.read + r.write + r.status + r.timeout;
      if (errors > 0) return reject(new Error(`wrk on ${url}: ${errors} errors or non-2xx answers`));
      resolve(r.requests / (r.durationUs / 1e6));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The whole run: `rounds` rounds of `duration` seconds per server and scenario. Resolves with the
 * results' table in Markdown (also printed), for a caller such as bench/run.js.
 */
export async function benchRuntimes({ rounds = 3, duration = 3, connections: c = 32 } = {}) {
  connections = c;
  if (spawnSync('wrk', ['-v']).error) throw new Error('wrk is not installed: apt-get install -y wrk');
  if (!existsSync(join(root, 'dist', 'web.js'))) throw new Error('no dist/: run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'sk-bench-runtimes-'));
  const servers = new Map();
  try {
    for (const runtime of runtimes) {
      for (const variant of variants) {
        const server = await start(runtime, variant);
        // The server with no session gets the same Cookie headers, and ignores them.
        const cookies = variant === 'session' ? await login(server.url, dir, runtime) : servers.get(`${runtime}/session`).cookies;
        servers.set(`${runtime}/${variant}`, { ...server, cookies });
      }
    }
    const results = new Map();
    // Warm-up: one short run of each, not counted (JIT, the MemoryStore's first entries).
    for (const server of servers.values()) for (const s of scenarios) await load(server.url + s.path, server.cookies, 1);
    for (let round = 1; round <= rounds; round++) {
      for (const s of scenarios) {
        for (const [key, server] of servers) {
          const rps = await load(server.url + s.path, server.cookies, duration);
          const name = `${key}/${s.name}`;
          results.set(name, [...(results.get(name) ?? []), rps]);
        }
      }
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
    const lines = [
      `sessionkit/web on each runtime, ${SESSIONS} sessions, wrk -t1 -c${connections}, ${rounds} rounds of ${duration} s (median req/s)`,
      '',
      '| Runtime | Scenario | With a session (MemoryStore) | No session | Ratio |',
      '| --- | --- | ---: | ---: | ---: |',
    ];
    for (const runtime of runtimes) {
      for (const s of scenarios) {
        const withSession = median(results.get(`${runtime}/session/${s.name}`));
        const bare = median(results.get(`${runtime}/bare/${s.name}`));
        lines.push(`| ${runtime} | ${s.name}: ${s.what} | ${Math.round(withSession)} | ${Math.round(bare)} | ${(withSession / bare).toFixed(2)} |`);
      }
    }
    const table = lines.join('\n');
    console.log(`\n${table}`);
    return table;
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
    },
  });
  benchRuntimes({ rounds: Number(values.rounds), duration: Number(values.duration), connections: Number(values.connections) }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
