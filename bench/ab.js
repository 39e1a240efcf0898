#!/usr/bin/env node
// Two builds of sessionkit side by side: the same contender served by build A and by build B,
// interleaved round by round (the order alternating), so that whatever else the machine does
// falls on both alike. For a change to src/: copy dist/ aside inside the checkout
// (`cp -a dist .dist-a`, so that it finds its dependencies in node_modules), change, build, then
//
//   node bench/ab.js --a=.dist-a/index.js --b=dist/index.js [--contender=sk-memory]
//        [--scenarios=read,write] [--rounds=5] [--duration=4] [--connections=32] [--sessions=64]
//
// Prints, per scenario, the median of B ÷ A per round for requests/s and for CPU per request
// (below 1: B spends less). --a and --b take index.js (ESM) or index.cjs (CommonJS) of a build.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from './common.js';
import { contenders } from './contenders.js';
import { load, login, startServer } from './load.js';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    contender: { type: 'string', default: 'sk-memory' },
    scenarios: { type: 'string', default: 'read,write' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '32' },
    sessions: { type: 'string', default: '64' },
  },
});
if (!flags.a || !flags.b || !contenders[flags.contender]) {
  console.error('usage: node bench/ab.js --a=BUILD/index.js --b=BUILD/index.js [--contender=sk-memory] [--scenarios=read,write] [--rounds=5] [--duration=4]');
  process.exit(2);
}
const builds = { A: resolve(flags.a), B: resolve(flags.b) };
const paths = { read: '/read', write: '/write', hot: '/write', new: '/new' };
const rounds = Number(flags.rounds);
const duration = Number(flags.duration);
const connections = Number(flags.connections);

async function measure(build, scenario, round) {
  const server = await startServer({
    contender: flags.contender,
    scenario,
    prefix: `skab:${process.pid}:${round}:${build}:`,
    env: { BENCH_SESSIONKIT: builds[build] },
  });
  try {
    const all = scenario === 'new' ? undefined : await login(server.port, Number(flags.sessions));
    const cookies = scenario === 'hot' ? all.slice(0, 1) : all;
    await load({ server, path: paths[scenario], cookies, duration: 1, connections });
    return await load({ server, path: paths[scenario], cookies, duration, connections });
  } finally {
    await server.stop();
  }
}

console.log(`A ${builds.A}\nB ${builds.B}\n${flags.contender}, ${rounds} rounds of ${duration} s, -c${connections}`);
for (const scenario of flags.scenarios.split(',')) {
  const rps = [];
  const cpu = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    const r = {};
    for (const build of order) r[build] = await measure(build, scenario, round);
    rps.push(r.B.rps / r.A.rps);
    cpu.push(r.B.cpuPerRequest / r.A.cpuPerRequest);
    console.log(
      `  ${scenario} r${round + 1}: A ${Math.round(r.A.rps)} req/s ${Math.round(r.A.cpuPerRequest)} µs, ` +
        `B ${Math.round(r.B.rps)} req/s ${Math.round(r.B.cpuPerRequest)} µs`,
    );
  }
  console.log(`${scenario}: B ÷ A req/s ${median(rps).toFixed(3)}, CPU per request ${median(cpu).toFixed(3)} (medians of ${rounds} rounds)`);
}
