#!/usr/bin/env node
// CPU profiles of sessionkit's request paths: `node bench/profile.js [--scenarios=read,write]
// [--contenders=bare,floor,sk-memory,sk-redis] [--duration=10]`. Each contender runs under
// `node --cpu-prof` while wrk (autocannon without it) loads it as `npm run bench` does; prints
// where the server's time goes (by package and by function, in µs of CPU per request), the self
// time of sessionkit's own code by source file, what each contender spends beyond bare Express
// and the floor, and keeps the .cpuprofile files (open them in Chrome DevTools) in --out.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteRedisPrefix, ensureBuilt, loadStore } from './common.js';
import { contenders } from './contenders.js';
import { defaultTool, load, login, startServer } from './load.js';

const { values: flags } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'read,write' },
    contenders: { type: 'string', default: 'bare,floor,sk-memory,sk-redis' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    sessions: { type: 'string', default: '64' },
    top: { type: 'string', default: '25' },
    out: { type: 'string' },
    heap: { type: 'boolean' },
  },
});
const duration = Number(flags.duration);
const connections = Number(flags.connections);
const sessions = Number(flags.sessions);
const top = Number(flags.top);
const tool = defaultTool();
const paths = { read: '/read', write: '/write', hot: '/write', new: '/new' };

/**
 * The source file of a line of dist/: the bundler heads each module's code with a
 * `// src/<file>.ts` comment, so the last one above the line names where the function lives.
 */
const sourceMaps = new Map();
function sourceFile(url, lineNumber) {
  const file = url.replace(/^file:\/\//, '');
  if (!sourceMaps.has(file)) {
    const heads = [];
    if (existsSync(file)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const m = /^\/\/ (src\/\S+)$/.exec(line);
        if (m) heads.push([i, m[1]]);
      });
    }
    sourceMaps.set(file, heads);
  }
  let found;
  for (const [line, src] of sourceMaps.get(file)) {
    if (line > lineNumber) break;
    found = src;
  }
  return found;
}

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

const where = ({ url, lineNumber }) => {
  if (!url) return '';
  const src = url.includes('/dist/') ? sourceFile(url, lineNumber) : undefined;
  return `${src ? `${src} (` : ''}${url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${lineNumber + 1}${src ? ')' : ''}`;
};

/** Where the time went, in percent of busy samples and in microseconds per request served. */
export function analyze(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const interval = profile.timeDeltas.reduce((a, b) => a + b, 0) / profile.samples.length;
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
  const us = (n) => (n * interval) / requests;
  const shown = (f) => ({ ...f, selfPercent: pct(f.self), totalPercent: pct(f.total), selfUs: us(f.self), totalUs: us(f.total) });
  return {
    busySamples: busy,
    busyUsPerRequest: us(busy),
    categories: [...categories].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, percent: pct(n), us: us(n) })),
    functions: [...functions.values()].map(shown),
    selfTop: [...functions.values()].sort((a, b) => b.self - a.self).slice(0, top).map(shown),
    sessionkitInclusive: [...functions.values()].filter((f) => f.category === 'sessionkit').sort((a, b) => b.total - a.total)
      .slice(0, top).map(shown),
  };
}

/** Bytes allocated per request (collected or not), from a sampling heap profile, by package and function. */
export function analyzeHeap(profile, requests) {
  const categories = new Map();
  const functions = new Map();
  let total = 0;
  const visit = (node) => {
    const frame = node.callFrame;
    if (node.selfSize) {
      total += node.selfSize;
      const cat = category(frame);
      categories.set(cat, (categories.get(cat) ?? 0) + node.selfSize);
      const key = `${frame.functionName || '(anonymous)'} ${where(frame)}`;
      const f = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where: where(frame), bytes: 0 };
      f.bytes += node.selfSize;
      functions.set(key, f);
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit(profile.head);
  const perRequest = (n) => n / requests;
  return {
    bytesPerRequest: perRequest(total),
    categories: [...categories].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, bytes: perRequest(n) })),
    top: [...functions.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top).map((f) => ({ ...f, bytes: perRequest(f.bytes) })),
  };
}

function printHeap(name, a) {
  console.log(`\n=== ${name}: ${Math.round(a.bytesPerRequest)} bytes allocated per request (sampled, garbage included)`);
  console.log('  by package:');
  for (const c of a.categories.slice(0, 12)) console.log(`    ${String(Math.round(c.bytes)).padStart(6)} B  ${c.name}`);
  console.log('  by function:');
  for (const f of a.top) console.log(`    ${String(Math.round(f.bytes)).padStart(6)} B  ${f.name.padEnd(34)} ${f.where}`);
}

const n1 = (n) => n.toFixed(1).padStart(5);

function print(name, a) {
  console.log(`\n=== ${name}: ${a.busySamples} busy samples, ${a.busyUsPerRequest.toFixed(1)} µs of CPU per request (idle excluded)`);
  console.log('  by package:          %    µs/req');
  for (const c of a.categories.slice(0, 14)) console.log(`    ${c.name.padEnd(30)} ${n1(c.percent)}  ${n1(c.us)}`);
  console.log('  self time, top functions:  %    µs/req');
  for (const f of a.selfTop) console.log(`    ${n1(f.selfPercent)}  ${n1(f.selfUs)}  ${f.name.padEnd(34)} ${f.where}`);
  const own = a.functions.filter((f) => f.category === 'sessionkit' && f.self > 0).sort((x, y) => y.self - x.self);
  const ownShare = own.reduce((sum, f) => sum + f.selfPercent, 0);
  console.log(`  sessionkit's own code, self time: ${ownShare.toFixed(1)} % of busy samples in all  %    µs/req`);
  for (const f of own.slice(0, top)) console.log(`    ${n1(f.selfPercent)}  ${n1(f.selfUs)}  ${f.name.padEnd(34)} ${f.where}`);
  console.log('  sessionkit, inclusive time (self + callees):  %    µs/req');
  for (const f of a.sessionkitInclusive) {
    console.log(`    ${n1(f.totalPercent)}  ${n1(f.totalUs)}  (self ${n1(f.selfUs)})  ${f.name.padEnd(28)} ${f.where}`);
  }
}

/** What a contender spends per request beyond a reference (bare Express, the floor), by package and by function. */
function printVersus(name, a, bare, reference = 'bare Express') {
  const extra = a.busyUsPerRequest - bare.busyUsPerRequest;
  console.log(`\n=== ${name} vs ${reference}: ${extra >= 0 ? '+' : ''}${extra.toFixed(1)} µs of CPU per request`);
  const bareCat = new Map(bare.categories.map((c) => [c.name, c.us]));
  const rows = a.categories.map((c) => [c.name, c.us - (bareCat.get(c.name) ?? 0)]);
  for (const c of bare.categories) if (!a.categories.some((x) => x.name === c.name)) rows.push([c.name, -c.us]);
  for (const [cat, d] of rows.sort((x, y) => y[1] - x[1]).filter(([, d]) => Math.abs(d) >= 0.5)) {
    console.log(`    ${(d >= 0 ? '+' : '') + d.toFixed(1)} µs  ${cat}`);
  }
  const bareFn = new Map(bare.functions.map((f) => [`${f.name} ${f.where}`, f.selfUs]));
  const deltas = a.functions.map((f) => [f, f.selfUs - (bareFn.get(`${f.name} ${f.where}`) ?? 0)]).sort((x, y) => y[1] - x[1]);
  console.log('  functions with the most extra self time:');
  for (const [f, d] of deltas.slice(0, top)) console.log(`    +${d.toFixed(1).padStart(4)} µs  ${f.name.padEnd(34)} ${f.where}`);
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
  const analyses = {};
  try {
    for (const scenario of flags.scenarios.split(',')) {
      for (const id of ids) {
        const dir = join(out, `${id}-${scenario}`);
        let requests = 0;
        rmSync(dir, { recursive: true, force: true });
        const heapFile = join(dir, 'run.heapprofile');
        mkdirSync(dir, { recursive: true });
        const server = await startServer(flags.heap
          ? { contender: id, scenario, prefix, heapProfile: heapFile }
          : { contender: id, scenario, prefix, execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
        try {
          const count = scenario === 'new' || id === 'bare' ? 0 : scenario === 'hot' ? 1 : sessions;
          const cookies = count ? await login(server.port, count) : undefined;
          const warm = await load({ server, path: paths[scenario], cookies, duration: 2, connections, tool });
          const r = await load({ server, path: paths[scenario], cookies, duration, connections, tool });
          requests = (cookies?.length ?? 0) + warm.requests + r.requests;
          console.log(`\n${id} ${scenario}: ${Math.round(r.rps)} req/s under the profiler`);
        } finally {
          await server.stop();
        }
        if (flags.heap) {
          printHeap(`${id} ${scenario}`, analyzeHeap(JSON.parse(readFileSync(heapFile, 'utf8')), requests));
          console.log(`  profile: ${heapFile}`);
          continue;
        }
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) throw new Error(`no profile written in ${dir}`);
        const analysis = analyze(JSON.parse(readFileSync(join(dir, file), 'utf8')), requests);
        analyses[`${id} ${scenario}`] = analysis;
        print(`${id} ${scenario}`, analysis);
        console.log(`  profile: ${join(dir, file)}`);
      }
      for (const [reference, label] of [['bare', 'bare Express'], ['floor', 'the floor']]) {
        const base = analyses[`${reference} ${scenario}`];
        if (!base) continue;
        for (const id of ids.filter((i) => i !== 'bare' && i !== reference)) {
          printVersus(`${id} ${scenario}`, analyses[`${id} ${scenario}`], base, label);
        }
      }
    }
  } finally {
    await deleteRedisPrefix(prefix);
  }
}

await main();
