// The results as Markdown (bench/results.md, and the tables of docs/bench.md).

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ratio = (n) => (n == null || !Number.isFinite(n) ? '' : `${n.toFixed(2)}×`);

export function scenarioTitle(scenario, { sessions = 64 } = {}) {
  return {
    read: `read: ${sessions} logged-in sessions in turn, each used and left unmodified`,
    write: `write: ${sessions} logged-in sessions in turn, a counter incremented by every request`,
    hot: 'hot: one session on every connection, a counter incremented by every request',
    new: 'new: no cookie, a new session saved by every request (saveUninitialized)',
  }[scenario] ?? scenario;
}

export function describeRun(results) {
  const { machine: m, config: c } = results;
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}; ${c.tool}${c.tool === 'wrk' ? ' -t1' : ''} -c${c.connections}, ` +
    `${c.warmup} s warm-up, median of ${c.rounds} interleaved rounds of ${c.duration} s; ` +
    `load average ${fmt(m.loadAverageAtStart, 1)} at start, ${fmt(m.loadAverageAtEnd, 1)} at end; ${results.generatedAt.slice(0, 10)}.`;
}

/** The lowest and highest req/s of the rounds: how much the machine moved the figures. */
const spread = (rounds = []) => {
  const rps = rounds.map((r) => r.rps).filter(Number.isFinite);
  return rps.length > 1 ? `${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))}` : '';
};

export function renderHttpMarkdown(results) {
  const lines = [];
  lines.push(
    'Every figure is the median of the rounds (the lowest and highest req/s of the rounds beside it); every ratio is a **ratio of medians** (req/s: this one\'s over the ' +
      'reference\'s, above 1 is faster; CPU: the reference\'s CPU µs per request over this one\'s, above 1 is cheaper). ' +
      '"express-session" is express-session with the same kind of store; for sessionkit\'s Fastify, Koa and Hono fronts, the ' +
      'framework\'s own session package with the same Redis (the contender of the same framework without "sessionkit" in its name).',
    '',
  );
  for (const [scenario, { rows }] of Object.entries(results.scenarios)) {
    const kept = rows.some((r) => r.incrementsKept != null);
    lines.push(`**${scenarioTitle(scenario, results.config)}**`, '');
    lines.push(
      '| contender | req/s | rounds, req/s | p50 | p99 | CPU µs/req | req/s ÷ bare | req/s ÷ floor | req/s ÷ express-session | CPU: floor ÷ this | CPU: express-session ÷ this |' +
        (kept ? ' increments kept |' : ''),
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|' + (kept ? '---:|' : ''),
    );
    for (const r of rows) {
      lines.push(
        `| ${r.label} | ${fmt(r.rps)} | ${spread(r.rounds)} | ${fmt(r.p50, 2)} ms | ${fmt(r.p99, 2)} ms | ${fmt(r.cpuPerRequest)} | ` +
          `${ratio(r.ratioToBare)} | ${ratio(r.ratioToFloor)} | ${ratio(r.ratioToExpressSession)} | ` +
          `${ratio(r.cpuRatioToFloor)} | ${ratio(r.cpuRatioToExpressSession)} |` +
          (kept ? ` ${r.incrementsKept == null ? '' : `${(100 * r.incrementsKept).toFixed(1)} %`} |` : ''),
      );
    }
    if (kept) {
      lines.push(
        '',
        'Increments kept: how much the session\'s counter grew over the requests that incremented it (median of the rounds). ' +
          'Each request reads the counter and writes it back plus one, so overlapping requests that read the same value ' +
          'write the same value: neither library promises to keep those (sessionkit keeps every change to *different* keys ' +
          'of overlapping requests); the column shows how far a contender\'s requests to one session ran one after another.',
      );
    }
    lines.push('');
  }
  if (results.deltaCost?.length) {
    lines.push('**No lost updates: delta saves vs whole-record saves (write scenario)**', '');
    lines.push('| store | delta saves req/s | whole-record saves req/s | delta ÷ whole (ratio of medians) |', '|---|---:|---:|---:|');
    for (const d of results.deltaCost) lines.push(`| ${d.store} | ${fmt(d.deltaRps)} | ${fmt(d.wholeRps)} | ${ratio(d.ratio)} |`);
    lines.push('');
  }
  if (results.targets?.length) {
    lines.push('**Targets** (ratio of medians; req/s decides, CPU per request beside it)', '');
    lines.push('| target | req/s ratio | CPU ratio | result |', '|---|---:|---:|---|');
    for (const t of results.targets) {
      lines.push(`| ${t.target} | ${ratio(t.measured)} | ${ratio(t.cpu)} | ${t.met == null ? 'not measured' : t.met ? 'pass' : '**miss**'} |`);
    }
    lines.push('');
  }
  return lines;
}

/** The store micro-benchmarks as the results of bench/stores.js have them. */
function renderStoresFallback(s) {
  const lines = [];
  lines.push(`**Stores** (operations per second, ${s.concurrency} in flight, ${s.population} sessions)`, '');
  lines.push('| store | get | set | touch | setIfVersion |', '|---|---:|---:|---:|---:|');
  for (const o of s.ops ?? []) {
    lines.push(`| ${o.store}${o.reference ? ' (reference)' : ''} | ${fmt(o.ops.get)} | ${fmt(o.ops.set)} | ${fmt(o.ops.touch)} | ${fmt(o.ops.setIfVersion)} |`);
  }
  lines.push('');
  for (const mem of s.memory ?? []) lines.push(`- ${mem.store}: ${fmt(mem.bytesPerSession)} bytes of heap per session at ${fmt(mem.sessions)} sessions (record JSON: ${mem.recordBytes} bytes)`);
  lines.push('');
  return lines.join('\n');
}

export function renderMarkdown(results, { storeMarkdown } = {}) {
  const lines = [describeRun(results), ''];
  if (Object.keys(results.scenarios ?? {}).length) lines.push(...renderHttpMarkdown(results));
  if (results.stores) {
    const text = (storeMarkdown ?? renderStoresFallback)(results.stores);
    lines.push(text.endsWith('\n') ? text : `${text}\n`);
  }
  if (results.notes?.length) {
    lines.push('Notes:', '', ...results.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}
