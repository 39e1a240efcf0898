#!/usr/bin/env node
// CPU profiles of sessionkit's request paths: `node bench/profile.js [--scenarios=read,write]
// [--contenders=sk-memory,sk-redis] [--duration=10]`. Each contender runs under
// `node --cpu-prof` while autocannon loads it; prints where the server's time goes (by package
// and by function) and keeps the .cpuprofile files (open them in Chrome DevTools) in --out.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteRedisKeys, ensureBuilt, loadStore, redisUrl } from './common.js';
import { contenders } from './contenders.js';
import { load, login, startServer } from './load.js';

const { values: flags } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'read,write' },
    contenders: { type: 'string', default: 'sk-memory,sk-redis' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    top: { type: 'string', default: '25' },
    out: { type: 'string' },
  },
});
const duration = Number(flags.duration);
const connections = Number(flags.connections);
const top = Number(flags.top);
const paths = { read: '/read', write: '/write', new: '/new' };

/** Where a frame's time belongs: sessionkit (dist/), a package, Node itself, GC, or the rest. */
function category({ functionName, url }) {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return '(program: native, outside JS)';
  if (url.includes('/node_modules/')) {
    const rest = url.slice(url.lastIndexOf('/node_modules/') + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/dist/')) return 'sessionkit';
  if (url.includes('/bench/')) return 'bench app';
  if (url.startsWith('node:')) return 'node internals';
  return url ? url : '(native)';
}

const where = ({ url, lineNumber }) => (url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : '');

export function analyze(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1);
  const busy = profile.samples.filter((id) => byId.get(id).callFrame.functionName !== '(idle)').length;

  const categories = new Map();
  const functions = new Map();
  for (const [id, count] of self) {
    const frame = byId.get(id).callFrame;
    const cat = category(frame);
    if (cat === 'idle') continue;
    categories.set(cat, (categories.get(cat) ?? 0) + count);
    const key = `${frame.functionName || '(anonymous)'} ${where(frame)}`;
    const f = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where: where(frame), category: cat, self: 0, total: 0 };
    f.self += count;
    functions.set(key, f);
  }
  // Inclusive time of sessionkit's functions: samples anywhere below them (counted once per stack).
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, count] of self) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur).callFrame;
      if (category(frame) !== 'sessionkit') continue;
      const key = `${frame.functionName || '(anonymous)'} ${where(frame)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const f = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where: where(frame), category: 'sessionkit', self: 0, total: 0 };
      f.total += count;
      functions.set(key, f);
    }
  }
  const pct = (n) => (100 * n) / busy;
  return {
    busySamples: busy,
    categories: [...categories].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, percent: pct(n) })),
    selfTop: [...functions.values()].sort((a, b) => b.self - a.self).slice(0, top).map((f) => ({ ...f, self: pct(f.self), total: pct(f.total) })),
    sessionkitInclusive: [...functions.values()].filter((f) => f.category === 'sessionkit').sort((a, b) => b.total - a.total)
      .slice(0, top).map((f) => ({ ...f, self: pct(f.self), total: pct(f.total) })),
  };
}

function print(name, a) {
  console.log(`\n=== ${name}: ${a.busySamples} busy samples (idle excluded)`);
  console.log('  by package:');
  for (const c of a.categories.slice(0, 14)) console.log(`    ${c.percent.toFixed(1).padStart(5)}%  ${c.name}`);
  console.log('  self time, top functions:');
  for (const f of a.selfTop) console.log(`    ${f.self.toFixed(1).padStart(5)}%  ${f.name.padEnd(34)} ${f.where}`);
  console.log('  sessionkit, inclusive time (self + callees):');
  for (const f of a.sessionkitInclusive) {
    console.log(`    ${f.total.toFixed(1).padStart(5)}%  (self ${f.self.toFixed(1).padStart(4)}%)  ${f.name.padEnd(28)} ${f.where}`);
  }
}

async function main() {
  ensureBuilt();
  const out = flags.out ?? mkdtempSync(join(tmpdir(), 'sessionkit-profile-'));
  mkdirSync(out, { recursive: true });
  const prefix = `skbench:profile:${Date.now().toString(36)}:${process.pid}:`;
  const ids = flags.contenders.split(',');
  if (ids.some((id) => contenders[id]?.needs === 'redis')) {
    const { missing } = await loadStore('redis', 'RedisStore');
    if (missing) throw new Error(`${missing}: leave out the Redis contenders (--contenders=sk-memory)`);
  }
  try {
    for (const scenario of flags.scenarios.split(',')) {
      for (const id of ids) {
        const dir = join(out, `${id}-${scenario}`);
        rmSync(dir, { recursive: true, force: true });
        const server = await startServer({ contender: id, scenario, prefix, execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
        try {
          const cookies = scenario === 'new' || id === 'bare' ? undefined : await login(server.port, connections);
          await load({ server, path: paths[scenario], cookies, duration: 2, connections });
          const r = await load({ server, path: paths[scenario], cookies, duration, connections });
          console.log(`\n${id} ${scenario}: ${Math.round(r.rps)} req/s under the profiler`);
        } finally {
          await server.stop();
        }
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) throw new Error(`no profile written in ${dir}`);
        print(`${id} ${scenario}`, analyze(JSON.parse(readFileSync(join(dir, file), 'utf8'))));
        console.log(`  profile: ${join(dir, file)}`);
      }
    }
  } finally {
    const { createClient } = await import('redis');
    const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    if (await client.connect().then(() => true, () => false)) {
      await deleteRedisKeys(client, prefix);
      await client.quit();
    }
  }
}

await main();
