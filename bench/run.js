#!/usr/bin/env node
// `npm run bench`: sessionkit against the floor, express-session and bare Express, side by side
// in one run, then the store micro-benchmarks. Writes bench/results.json, bench/results.md and
// docs/bench.svg. `npm run bench -- --help` lists the flags; docs/bench.md explains the figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { renderMarkdown } from './markdown.js';
import { deleteRedisKeys, ensureBuilt, loadStore, machine, median, redisUrl, root, sessionOptions, touchAfterSeconds } from './common.js';
import { contenders, lineup } from './contenders.js';
import { defaultTool, load, login, startServer } from './load.js';
import * as stores from './stores.js';
import { benchRuntimes } from './runtimes.js';

const usage = `Usage: npm run bench -- [flags]   (each flag also reads BENCH_<NAME>, e.g. BENCH_DURATION=3)

  --duration=SECONDS     length of each measurement (6)
  --warmup=SECONDS       load on each contender before the first round (2)
  --rounds=N             rounds; every contender runs once per round, interleaved (3)
  --connections=N        keep-alive connections of the load generator (32)
  --sessions=N           logged-in sessions per contender in read and write, used in turn (64)
  --scenarios=LIST       ${Object.keys(lineup).join(',')} (all)
  --contenders=LIST      ${Object.keys(contenders).join(',')} (all)
  --tool=wrk|autocannon  the load generator (wrk when it is installed)
  --no-http              skip the HTTP scenarios
  --no-stores            skip the store micro-benchmarks
  --no-runtimes          skip the web front on Node, Bun and Deno (needs bash scripts/runtimes.sh)
  --no-save              print only; write neither bench/results.* nor docs/bench.svg
  --stores-json=FILE     take the store results from FILE (written by bench/stores.js --json=FILE)
                         instead of running them; with --render, fold them into bench/results.json
  --render               run nothing: write bench/results.md, docs/bench.svg and the results in
                         docs/bench.md again from bench/results.json
  --help                 this text`;

let flags;
let config;
try {
  ({ values: flags } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      sessions: { type: 'string' },
      scenarios: { type: 'string' },
      contenders: { type: 'string' },
      tool: { type: 'string' },
      'no-http': { type: 'boolean' },
      'no-stores': { type: 'boolean' },
      'no-runtimes': { type: 'boolean' },
      'no-save': { type: 'boolean' },
      'stores-json': { type: 'string' },
      render: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
  if (flags.help) {
    console.log(usage);
    process.exit(0);
  }
  config = {
    tool: toolOption(),
    duration: numberOption('duration', 6),
    warmup: numberOption('warmup', 2),
    rounds: Math.max(1, Math.round(numberOption('rounds', 3))),
    connections: Math.max(1, Math.round(numberOption('connections', 32))),
    sessions: Math.max(1, Math.round(numberOption('sessions', 64))),
    scenarios: listOption('scenarios', Object.keys(lineup)),
    contenders: listOption('contenders', Object.keys(contenders)),
  };
} catch (err) {
  console.error(`npm run bench: ${err.message}\n\n${usage}`);
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

function toolOption() {
  const raw = flags.tool ?? process.env.BENCH_TOOL;
  if (!raw) return defaultTool();
  if (raw !== 'wrk' && raw !== 'autocannon') throw new Error(`--tool must be wrk or autocannon; got ${raw}`);
  if (raw === 'wrk' && defaultTool() !== 'wrk') throw new Error('--tool=wrk: wrk is not installed (Debian: apt-get install wrk)');
  return raw;
}

const runPrefix = `skbench:${Date.now().toString(36)}:${process.pid}:`;
const paths = { read: '/read', write: '/write', hot: '/write', new: '/new' };

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

const { fetch } = globalThis;
const pct = (n) => (Number.isFinite(n) ? `${(100 * n).toFixed(1)} %` : '');

async function readCount(server) {
  const res = await fetch(`http://127.0.0.1:${server.port}/count`, { headers: { cookie: server.cookies[0] } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/count on ${server.contender}: HTTP ${res.status} ${text}`);
  return Number(text);
}

/** How many logged-in sessions a contender's load uses: none without a session, one when hot. */
function sessionCount(scenario, id) {
  if (scenario === 'new' || contenders[id].library === 'none') return 0;
  return scenario === 'hot' ? 1 : config.sessions;
}

async function runScenario(scenario, redis, notes) {
  const ids = lineup[scenario].filter((id) => config.contenders.includes(id)).filter((id) => {
    const reason = skipReason(id, redis);
    if (reason) notes.add(`skipped ${contenders[id].label}: ${reason}`);
    return !reason;
  });
  if (!ids.length) return null;
  console.log(`\n== ${scenario}: ${ids.length} contenders, ${config.rounds} rounds of ${config.duration} s`);
  const servers = [];
  const measure = (server, duration) => load({
    server, path: paths[scenario], cookies: server.cookies, duration, connections: config.connections, tool: config.tool,
  });
  try {
    for (const id of ids) {
      const server = await startServer({ contender: id, scenario, prefix: `${runPrefix}${scenario}:${id}:` });
      servers.push(server);
      const count = sessionCount(scenario, id);
      server.cookies = count ? await login(server.port, count) : undefined;
      await measure(server, config.warmup);
    }
    const rounds = Object.fromEntries(ids.map((id) => [id, []]));
    // In hot, every request increments one session's counter: its growth over the requests served
    // shows how many increments survived requests that read and wrote the same key at once.
    const hotCount = async (server) => (scenario === 'hot' && server.cookies ? readCount(server) : undefined);
    for (let round = 1; round <= config.rounds; round++) {
      for (const server of servers) {
        const before = await hotCount(server);
        const result = await measure(server, config.duration);
        const after = await hotCount(server);
        if (before !== undefined) result.incrementsKept = (after - before) / result.served;
        rounds[server.contender].push(result);
        console.log(
          `  round ${round}  ${contenders[server.contender].label.padEnd(46)} ${fmt(result.rps).padStart(7)} req/s` +
            `  p50 ${ms(result.p50).padStart(8)}  p99 ${ms(result.p99).padStart(8)}  CPU ${fmt(result.cpuPerRequest).padStart(4)} µs/req` +
            (result.incrementsKept !== undefined ? `  increments kept ${pct(result.incrementsKept)}` : ''),
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
 * Medians over the rounds, and every ratio a ratio of two of those medians, so that a ratio is
 * always what the req/s (or CPU) figures beside it give. CPU ratios are the reference's CPU per
 * request over this one's, so that above 1 means cheaper, as above 1 means faster for req/s.
 */
function summarize(ids, rounds) {
  const med = Object.fromEntries(ids.map((id) => [id, {
    rps: median(rounds[id].map((r) => r.rps)),
    p50: median(rounds[id].map((r) => r.p50)),
    p99: median(rounds[id].map((r) => r.p99)),
    cpu: median(rounds[id].map((r) => r.cpuPerRequest)),
  }]));
  const rpsRatio = (id, other) => (other && med[other] ? med[id].rps / med[other].rps : null);
  const cpuRatio = (id, other) => (other && med[other] ? med[other].cpu / med[id].cpu : null);
  const rows = ids.map((id) => {
    const c = contenders[id];
    const versus = c.versus && med[c.versus] ? c.versus : null;
    return {
      id,
      label: c.label,
      library: c.library,
      store: c.store,
      rps: med[id].rps,
      p50: med[id].p50,
      p99: med[id].p99,
      cpuPerRequest: med[id].cpu,
      incrementsKept: rounds[id].some((r) => r.incrementsKept !== undefined) ? median(rounds[id].map((r) => r.incrementsKept)) : null,
      ratioToBare: rpsRatio(id, 'bare'),
      ratioToFloor: rpsRatio(id, 'floor'),
      versus,
      ratioToExpressSession: rpsRatio(id, versus),
      cpuRatioToBare: cpuRatio(id, 'bare'),
      cpuRatioToFloor: cpuRatio(id, 'floor'),
      cpuRatioToExpressSession: cpuRatio(id, versus),
      rounds: rounds[id],
    };
  });
  return { rows };
}

const ratio = (n) => (n == null || !Number.isFinite(n) ? '' : n.toFixed(2));

function printTable(scenario, { rows }) {
  console.log(`\n${scenario}`);
  console.log(
    `  ${'contender'.padEnd(46)} ${'req/s'.padStart(8)} ${'p50'.padStart(9)} ${'p99'.padStart(9)}` +
      ` ${'x bare'.padStart(7)} ${'x floor'.padStart(7)} ${'x e-s'.padStart(6)}   ${'CPU/req'.padStart(9)} ${'x floor'.padStart(7)} ${'x e-s'.padStart(6)}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(46)} ${fmt(r.rps).padStart(8)} ${ms(r.p50).padStart(9)} ${ms(r.p99).padStart(9)}` +
        ` ${ratio(r.ratioToBare).padStart(7)} ${ratio(r.ratioToFloor).padStart(7)} ${ratio(r.ratioToExpressSession).padStart(6)}` +
        `   ${(fmt(r.cpuPerRequest) + ' µs').padStart(9)} ${ratio(r.cpuRatioToFloor).padStart(7)} ${ratio(r.cpuRatioToExpressSession).padStart(6)}` +
        (r.incrementsKept != null ? `   increments kept ${pct(r.incrementsKept)}` : ''),
    );
  }
}

/** The targets, as ratios of medians in this run: by req/s (what decides), by CPU per request beside it. */
function targets(scenarios) {
  const row = (scenario, id) => scenarios[scenario]?.rows.find((r) => r.id === id);
  const out = [];
  const check = (target, goal, measured, cpu) => {
    out.push({ target, goal, measured: measured ?? null, cpu: cpu ?? null, met: measured == null ? null : measured >= goal });
  };
  for (const scenario of ['read', 'write']) {
    const r = row(scenario, 'sk-memory');
    check(`${scenario}, sessionkit + MemoryStore ≥ 0.90× the floor`, 0.9, r?.ratioToFloor, r?.cpuRatioToFloor);
  }
  for (const scenario of ['read', 'write']) {
    for (const id of ['sk-memory', 'sk-redis']) {
      const r = row(scenario, id);
      check(`${scenario}, ${contenders[id].label} ≥ 1.3× ${contenders[contenders[id].versus].label}`, 1.3, r?.ratioToExpressSession, r?.cpuRatioToExpressSession);
    }
  }
  for (const id of ['sk-memory', 'sk-redis']) {
    const r = row('hot', id);
    check(`hot, ${contenders[id].label} ≥ 1.0× ${contenders[contenders[id].versus].label}`, 1.0, r?.ratioToExpressSession, r?.cpuRatioToExpressSession);
  }
  const plain = row('read', 'sk-redis');
  const lazy = row('read', 'sk-redis-touchafter');
  check(
    `read, touchAfter shows its gain: ${contenders['sk-redis-touchafter'].label} > 1.0× ${contenders['sk-redis'].label}`,
    1.0,
    plain && lazy ? lazy.rps / plain.rps : null,
    plain && lazy ? plain.cpuPerRequest / lazy.cpuPerRequest : null,
  );
  // "shows its gain" is strictly more, not equal.
  const last = out[out.length - 1];
  if (last.measured != null) last.met = last.measured > 1.0;
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
    out.push({ store: d.store, deltaRps: d.rps, wholeRps: w.rps, ratio: d.rps / w.rps, deltaP50: d.p50, wholeP50: w.p50 });
  }
  return out;
}

async function main() {
  ensureBuilt();
  const info = await machine();
  info.loadAverageAtStart = loadavg()[0];
  console.log(`sessionkit benchmark: ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
  console.log(
    `${config.tool}${config.tool === 'wrk' ? ' -t1' : ''}, ${config.connections} connections, ${config.warmup} s warm-up, ` +
      `${config.rounds} rounds of ${config.duration} s per contender, interleaved`,
  );
  const notes = new Set();
  const results = {
    generatedAt: new Date().toISOString(),
    machine: info,
    config: { ...config, ratios: 'ratio of medians', sessionOptions: sessionOptions(), touchAfter: touchAfterSeconds },
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
        `\nMedians of ${config.rounds} rounds. Every ratio ("x bare", "x floor", "x e-s": to bare Express, to the floor, to` +
          '\nexpress-session with the same kind of store) is a ratio of medians: first of requests per second, then of the' +
          "\nserver's CPU time per request (the reference's over this one's: above 1 is cheaper).",
      );
      for (const [scenario, summary] of Object.entries(results.scenarios)) printTable(scenario, summary);
      results.deltaCost = deltaCost(results.scenarios);
      if (results.deltaCost.length) {
        console.log('\nno lost updates: delta (conditional) saves vs whole-record saves, write scenario');
        for (const d of results.deltaCost) {
          console.log(
            `  ${d.store.padEnd(8)} ${fmt(d.deltaRps)} vs ${fmt(d.wholeRps)} req/s: delta saves run at ${d.ratio.toFixed(2)}x ` +
              'the whole-record throughput (ratio of medians)',
          );
        }
      }
      results.targets = targets(results.scenarios);
      console.log('\ntargets (ratio of medians of req/s; by CPU per request in brackets)');
      for (const t of results.targets) {
        const measured = t.measured == null ? 'not measured' : `${t.measured.toFixed(2)} (CPU: ${ratio(t.cpu)})`;
        console.log(`  ${t.met == null ? '?   ' : t.met ? 'pass' : 'miss'}  ${t.target}: ${measured}`);
      }
    }
    if (flags['stores-json']) {
      results.stores = storeResults();
    } else if (!flags['no-stores']) {
      results.stores = await stores.runStoreBenchmarks({ notes, prefix: `${runPrefix}stores:` });
    }
    if (!flags['no-runtimes']) {
      // The web front against no session, on each runtime: a table of ratios within its own run.
      results.runtimes = await benchRuntimes({ rounds: Number(flags.rounds ?? 3) });
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
    writeOutputs(results);
    console.log('\nwrote bench/results.json, bench/results.md, docs/bench.svg and the results in docs/bench.md');
  }
}

/**
 * bench/results.md, docs/bench.svg, and the results part of docs/bench.md (between its
 * `<!-- results -->` markers, so that the page's prose stays as written).
 */
function writeOutputs(results) {
  // The store section is rendered by stores.js once it offers it, so that its tables follow its figures.
  const storeMarkdown = typeof stores.renderStoreMarkdown === 'function' ? stores.renderStoreMarkdown : undefined;
  let markdown = renderMarkdown(results, { storeMarkdown });
  if (results.runtimes) markdown = `${markdown.trimEnd()}\n\n## Runtimes\n\n${results.runtimes}\n`;
  writeFileSync(join(root, 'bench', 'results.md'), markdown);
  writeFileSync(join(root, 'docs', 'bench.svg'), renderChart(results));
  const page = join(root, 'docs', 'bench.md');
  if (existsSync(page)) {
    const text = readFileSync(page, 'utf8');
    const updated = text.replace(/(<!-- results -->\n)[\s\S]*?(<!-- \/results -->)/, `$1\n${markdown.trimEnd()}\n\n$2`);
    if (updated !== text) writeFileSync(page, updated);
  }
}

/** The results of a separate store run (bench/stores.js --json=FILE), for --stores-json. */
function storeResults() {
  const file = flags['stores-json'];
  const parsed = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(parsed?.cells)) throw new Error(`--stores-json=${file}: not the results of bench/stores.js --json`);
  return parsed;
}

if (flags.render) {
  const saved = JSON.parse(readFileSync(join(root, 'bench', 'results.json'), 'utf8'));
  if (flags['stores-json']) {
    saved.stores = storeResults();
    writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(saved, null, 2) + '\n');
  }
  writeOutputs(saved);
  console.log('wrote bench/results.md, docs/bench.svg and the results in docs/bench.md from bench/results.json');
  process.exit(0);
}

main().catch((err) => {
  console.error(`\nbenchmark failed: ${err.stack || err}`);
  process.exitCode = 1;
});
