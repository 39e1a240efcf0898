#!/usr/bin/env node
// `npm run bench`: sessionkit against express-session and bare Express, side by side in one run,
// then the store micro-benchmarks. Writes bench/results.json, bench/results.md and docs/bench.svg.
//
//   BENCH_DURATION=3 npm run bench          a quick run (seconds per measurement)
//   npm run bench -- --scenarios=read --no-stores
//
// Flags (or env): --duration (BENCH_DURATION, 6), --warmup (BENCH_WARMUP, 2), --rounds
// (BENCH_ROUNDS, 3), --connections (BENCH_CONNECTIONS, 10), --scenarios (BENCH_SCENARIOS,
// read,write,new), --contenders (BENCH_CONTENDERS, all), --no-http, --no-stores, --no-save.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { renderMarkdown } from './markdown.js';
import { deleteRedisKeys, ensureBuilt, loadStore, machine, median, redisUrl, root, sessionOptions, touchAfterSeconds } from './common.js';
import { contenders, lineup } from './contenders.js';
import { load, login, startServer } from './load.js';
import { runStoreBenchmarks } from './stores.js';

let flags;
let config;
try {
  ({ values: flags } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      scenarios: { type: 'string' },
      contenders: { type: 'string' },
      'no-http': { type: 'boolean' },
      'no-stores': { type: 'boolean' },
      'no-save': { type: 'boolean' },
    },
  }));
  config = {
    tool: 'autocannon',
    duration: numberOption('duration', 6),
    warmup: numberOption('warmup', 2),
    rounds: Math.max(1, Math.round(numberOption('rounds', 3))),
    connections: Math.max(1, Math.round(numberOption('connections', 10))),
    scenarios: listOption('scenarios', Object.keys(lineup)),
    contenders: listOption('contenders', Object.keys(contenders)),
  };
} catch (err) {
  console.error(`npm run bench: ${err.message}`);
  process.exit(2);
}

function numberOption(name, fallback) {
  const raw = flags[name] ?? process.env[`BENCH_${name.toUpperCase()}`];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number; got ${raw}`);
  return value;
}

function listOption(name, all) {
  const raw = flags[name] ?? process.env[`BENCH_${name.toUpperCase()}`];
  if (!raw) return all;
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = list.filter((item) => !all.includes(item));
  if (unknown.length) throw new Error(`unknown ${name}: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return list;
}

const runPrefix = `skbench:${Date.now().toString(36)}:${process.pid}:`;
const paths = { read: '/read', write: '/write', new: '/new' };

/** Redis contenders need a reachable Redis (connect-redis) and, for sessionkit's, a landed RedisStore. */
async function checkRedis() {
  const { createClient } = await import('redis');
  const client = createClient({ url: redisUrl, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    return { reason: `Redis is not reachable at ${redisUrl} (${err.message})` };
  }
  const { missing } = await loadStore('redis', 'RedisStore');
  return { client, skMissing: missing };
}

function skipReason(id, redis) {
  if (contenders[id].needs !== 'redis') return undefined;
  if (redis.reason) return redis.reason;
  if (contenders[id].library === 'sessionkit' && redis.skMissing) return redis.skMissing;
  return undefined;
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const ms = (n) => (Number.isFinite(n) ? `${n.toFixed(2)} ms` : '-');

async function runScenario(scenario, redis, notes) {
  const ids = lineup[scenario].filter((id) => config.contenders.includes(id)).filter((id) => {
    const reason = skipReason(id, redis);
    if (reason) notes.add(`skipped ${contenders[id].label}: ${reason}`);
    return !reason;
  });
  if (!ids.length) return null;
  console.log(`\n== ${scenario}: ${ids.length} contenders, ${config.rounds} rounds of ${config.duration} s`);
  const servers = [];
  try {
    for (const id of ids) {
      const server = await startServer({ contender: id, scenario, prefix: `${runPrefix}${scenario}:${id}:` });
      servers.push(server);
      server.cookies = scenario !== 'new' && id !== 'bare' ? await login(server.port, config.connections) : undefined;
      await load({ server, path: paths[scenario], cookies: server.cookies, duration: config.warmup, connections: config.connections });
    }
    const rounds = Object.fromEntries(ids.map((id) => [id, []]));
    for (let round = 1; round <= config.rounds; round++) {
      for (const server of servers) {
        const result = await load({
          server, path: paths[scenario], cookies: server.cookies, duration: config.duration, connections: config.connections,
        });
        rounds[server.contender].push(result);
        console.log(
          `  round ${round}  ${contenders[server.contender].label.padEnd(46)} ${fmt(result.rps).padStart(7)} req/s` +
            `  p50 ${ms(result.p50).padStart(8)}  p99 ${ms(result.p99).padStart(8)}  CPU ${fmt(result.cpuPerRequest).padStart(4)} µs/req`,
        );
        // New sessions pile up in Redis; they are removed between measurements (not timed).
        if (scenario === 'new' && contenders[server.contender].store === 'redis') {
          await deleteRedisKeys(redis.client, `${runPrefix}${scenario}:${server.contender}:`);
        }
      }
    }
    return summarize(ids, rounds);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (redis.client) await deleteRedisKeys(redis.client, `${runPrefix}${scenario}:`);
  }
}

/**
 * Medians over the rounds; ratios are medians of the per-round ratios (each round runs them all
 * within seconds). The CPU ratios compare the server's CPU time per request the same way
 * (other's / this one's, so that above 1 means cheaper, as with requests per second).
 */
function summarize(ids, rounds) {
  const perRound = (id, other) => median(rounds[id].map((r, i) => r.rps / rounds[other]?.[i]?.rps));
  const perRoundCpu = (id, other) => median(rounds[id].map((r, i) => rounds[other]?.[i]?.cpuPerRequest / r.cpuPerRequest));
  const rows = ids.map((id) => {
    const c = contenders[id];
    return {
      id,
      label: c.label,
      library: c.library,
      store: c.store,
      rps: median(rounds[id].map((r) => r.rps)),
      p50: median(rounds[id].map((r) => r.p50)),
      p99: median(rounds[id].map((r) => r.p99)),
      ratioToBare: rounds.bare ? perRound(id, 'bare') : null,
      versus: c.versus && rounds[c.versus] ? c.versus : null,
      ratioToExpressSession: c.versus && rounds[c.versus] ? perRound(id, c.versus) : null,
      cpuPerRequest: median(rounds[id].map((r) => r.cpuPerRequest)),
      cpuRatioToBare: rounds.bare ? perRoundCpu(id, 'bare') : null,
      cpuRatioToExpressSession: c.versus && rounds[c.versus] ? perRoundCpu(id, c.versus) : null,
      rounds: rounds[id],
    };
  });
  return { rows };
}

const ratio = (n) => (n == null || !Number.isFinite(n) ? '' : n.toFixed(2));

function printTable(scenario, { rows }) {
  console.log(`\n${scenario}`);
  console.log(
    `  ${'contender'.padEnd(46)} ${'req/s'.padStart(8)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'x bare'.padStart(7)} ${'x e-s'.padStart(6)}` +
      `   ${'CPU/req'.padStart(9)} ${'x bare'.padStart(7)} ${'x e-s'.padStart(6)}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(46)} ${fmt(r.rps).padStart(8)} ${ms(r.p50).padStart(9)} ${ms(r.p99).padStart(9)}` +
        ` ${ratio(r.ratioToBare).padStart(7)} ${ratio(r.ratioToExpressSession).padStart(6)}` +
        `   ${(fmt(r.cpuPerRequest) + ' µs').padStart(9)} ${ratio(r.cpuRatioToBare).padStart(7)} ${ratio(r.cpuRatioToExpressSession).padStart(6)}`,
    );
  }
}

/** The targets, as ratios measured in this run (by requests per second; by CPU per request alongside). */
function targets(scenarios) {
  const row = (scenario, id) => scenarios[scenario]?.rows.find((r) => r.id === id);
  const out = [];
  const check = (text, goal, measured, cpu) => {
    out.push({ target: text, goal, measured: measured ?? null, cpu: cpu ?? null, met: measured == null ? null : measured >= goal });
  };
  const vsBare = (scenario, id, goal, text) => {
    const r = row(scenario, id);
    check(text, goal, r?.ratioToBare, r?.cpuRatioToBare);
  };
  vsBare('read', 'sk-memory', 0.9, 'read, MemoryStore: >= 0.90 of bare Express');
  vsBare('read', 'sk-redis-touchafter', 0.85, 'read, RedisStore + touchAfter: >= 0.85 of bare Express');
  vsBare('write', 'sk-memory', 0.85, 'write, MemoryStore: >= 0.85 of bare Express');
  vsBare('write', 'sk-redis', 0.75, 'write, RedisStore: >= 0.75 of bare Express');
  for (const scenario of Object.keys(lineup)) {
    for (const id of ['sk-memory', 'sk-redis']) {
      const r = row(scenario, id);
      check(`${scenario}, ${contenders[id].label}: >= 1.3x express-session`, 1.3, r?.ratioToExpressSession, r?.cpuRatioToExpressSession);
    }
  }
  return out;
}

/** What "no lost updates" costs: delta (conditional) saves against whole-record saves, in the write scenario. */
function deltaCost(scenarios) {
  const rows = scenarios.write?.rows ?? [];
  const out = [];
  for (const [delta, whole] of [['sk-memory', 'sk-memory-whole'], ['sk-redis', 'sk-redis-whole']]) {
    const d = rows.find((r) => r.id === delta);
    const w = rows.find((r) => r.id === whole);
    if (!d || !w) continue;
    const ratio = median(d.rounds.map((r, i) => r.rps / w.rounds[i].rps));
    out.push({ store: d.store, deltaRps: d.rps, wholeRps: w.rps, ratio, deltaP50: d.p50, wholeP50: w.p50 });
  }
  return out;
}

async function main() {
  ensureBuilt();
  const info = await machine();
  info.loadAverageAtStart = loadavg()[0];
  console.log(`sessionkit benchmark: ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
  console.log(
    `${config.tool}, ${config.connections} connections, ${config.warmup} s warm-up, ` +
      `${config.rounds} rounds of ${config.duration} s per contender, interleaved`,
  );
  const notes = new Set();
  const results = {
    generatedAt: new Date().toISOString(),
    machine: info,
    config: { ...config, sessionOptions: sessionOptions(), touchAfter: touchAfterSeconds },
    scenarios: {},
    notes: [],
  };
  const redis = await checkRedis();
  let interrupted = false;
  const cleanup = async () => {
    if (redis.client?.isOpen) {
      await deleteRedisKeys(redis.client, runPrefix).catch(() => {});
      await redis.client.quit().catch(() => {});
    }
  };
  process.once('SIGINT', () => {
    interrupted = true;
    console.log('\ninterrupted: cleaning up');
    cleanup().finally(() => process.exit(130));
  });
  try {
    if (!flags['no-http']) {
      for (const scenario of config.scenarios) {
        const summary = await runScenario(scenario, redis, notes);
        if (summary) results.scenarios[scenario] = summary;
      }
      console.log(
        `\nMedians of ${config.rounds} rounds. "x bare" and "x e-s": medians of per-round ratios to bare Express and to` +
          '\nexpress-session with the same kind of store; first by requests per second, then by the server\'s CPU time' +
          '\nper request (bare\'s or express-session\'s over this one\'s: above 1 is cheaper), which other load on the machine moves less.',
      );
      for (const [scenario, summary] of Object.entries(results.scenarios)) printTable(scenario, summary);
      results.deltaCost = deltaCost(results.scenarios);
      if (results.deltaCost.length) {
        console.log('\nno lost updates: delta (conditional) saves vs whole-record saves, write scenario');
        for (const d of results.deltaCost) {
          console.log(
            `  ${d.store.padEnd(8)} ${fmt(d.deltaRps)} vs ${fmt(d.wholeRps)} req/s: delta saves run at ${d.ratio.toFixed(2)}x ` +
              `the whole-record throughput (median of per-round ratios)`,
          );
        }
      }
      results.targets = targets(results.scenarios);
      console.log('\ntargets');
      for (const t of results.targets) {
        const measured = t.measured == null ? 'not measured' : `${t.measured.toFixed(2)} (by CPU per request: ${ratio(t.cpu)})`;
        console.log(`  ${t.met == null ? '?      ' : t.met ? 'met    ' : 'not met'}  ${t.target}: ${measured}`);
      }
    }
    if (!flags['no-stores']) {
      results.stores = await runStoreBenchmarks({ notes, prefix: `${runPrefix}stores:` });
    }
  } finally {
    if (!interrupted) await cleanup();
  }
  info.loadAverageAtEnd = loadavg()[0];
  console.log(`\nload average (1 min) at start ${info.loadAverageAtStart.toFixed(1)}, at end ${info.loadAverageAtEnd.toFixed(1)}, on ${info.cores} cores`);
  results.notes = [...notes];
  if (results.notes.length) {
    console.log('\nnotes');
    for (const note of results.notes) console.log(`  ${note}`);
  }
  if (!flags['no-save'] && !flags['no-http']) {
    writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(root, 'bench', 'results.md'), renderMarkdown(results));
    writeFileSync(join(root, 'docs', 'bench.svg'), renderChart(results));
    console.log('\nwrote bench/results.json, bench/results.md and docs/bench.svg');
  }
}

main().catch((err) => {
  console.error(`\nbenchmark failed: ${err.stack || err}`);
  process.exitCode = 1;
});
