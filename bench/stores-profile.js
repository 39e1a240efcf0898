#!/usr/bin/env node
// Where a store operation's CPU time goes, sessionkit's store beside the one it replaces:
//
//   node bench/stores-profile.js --store=postgres --op=get [--size=10000] [--ops=20000] [--in-flight=32]
//
// Opens the store family of bench/stores.js at --size sessions, runs --ops operations of --op on
// each contender in turn under the V8 profiler (in this process), and prints its CPU µs per
// operation by package and its heaviest functions (self time). --out=DIR keeps the .cpuprofile
// files, to open in Chrome DevTools.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './common.js';
import { drive, families, operation, sample } from './stores.js';

const { values: flags } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    op: { type: 'string', default: 'get' },
    size: { type: 'string', default: '10000' },
    ops: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '32' },
    contenders: { type: 'string' },
    top: { type: 'string', default: '15' },
    out: { type: 'string' },
  },
});
const family = families[flags.store];
if (!family) throw new Error(`unknown --store ${flags.store} (known: ${Object.keys(families).join(', ')})`);
const size = Number(flags.size);
const ops = Number(flags.ops);
const inFlight = Number(flags['in-flight']);
const top = Number(flags.top);

/** Where a frame's time belongs: sessionkit (dist/), a package, Node itself, GC, or the rest. */
function category({ functionName, url }) {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle (waiting for the server)';
  if (functionName === '(program)') return '(program: native, outside JS)';
  if (url.includes('/node_modules/')) {
    const rest = url.slice(url.lastIndexOf('/node_modules/') + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/dist/')) return 'sessionkit';
  if (url.includes('/bench/')) return 'benchmark driver';
  if (url.startsWith('node:') || url === '') return 'node';
  return url;
}

/** Self time per function and per category, in µs, from a V8 CPU profile. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map();
  const categories = new Map();
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const cat = category(frame);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
  }
  return { functions, categories };
}

ensureBuilt();
const opened = await family.open(size, `skbench:profile:${Date.now().toString(36)}:${process.pid}:`);
const session = new Session();
session.connect();
try {
  const wanted = flags.contenders?.split(',');
  for (const c of opened.contenders.filter((k) => !wanted || wanted.includes(k.id))) {
    const run = operation(c.store, flags.op);
    await drive(run, sample(size, Math.min(2000, size)), inFlight);
    const ns = Array.from({ length: ops }, () => Math.floor(Math.random() * size));
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    const m = await drive(run, ns, inFlight);
    const elapsed = performance.now() - t0;
    const { profile } = await session.post('Profiler.stop');
    if (flags.out) {
      mkdirSync(flags.out, { recursive: true });
      writeFileSync(join(flags.out, `${flags.store}-${c.id}-${flags.op}.cpuprofile`), JSON.stringify(profile));
    }
    const { functions, categories } = selfTimes(profile);
    const perOp = (us) => (us / ops).toFixed(1).padStart(7);
    const busy = [...categories].filter(([k]) => !k.startsWith('idle')).reduce((a, [, v]) => a + v, 0);
    console.log(
      `\n${c.label}: ${flags.op}, ${inFlight} in flight, ${size} sessions: ${Math.round(m.opsPerSec)} ops/s, ` +
        `p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms; CPU ${perOp(busy).trim()} µs per op of ${(elapsed * 1000 / ops).toFixed(1)} µs wall`,
    );
    for (const [k, v] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`  ${perOp(v)} µs  ${k}`);
    console.log('  heaviest functions (self):');
    for (const [k, v] of [...functions].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${perOp(v)} µs  ${k}`);
    }
  }
} finally {
  session.disconnect();
  await opened.close();
}
