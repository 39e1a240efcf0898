// The results as Markdown tables (bench/results.md), for README.

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ratio = (n) => (n == null || !Number.isFinite(n) ? '' : n.toFixed(2));

export function renderMarkdown(results) {
  const { machine: m, config: c } = results;
  const lines = [];
  lines.push(
    `${m.cpu}, ${m.cores} cores, Node ${m.node}; ${c.tool}, ${c.connections} connections, ` +
      `${c.warmup} s warm-up, median of ${c.rounds} interleaved rounds of ${c.duration} s; ` +
      `load average ${fmt(m.loadAverageAtStart, 1)} at start, ${fmt(m.loadAverageAtEnd, 1)} at end; ${results.generatedAt.slice(0, 10)}.`,
    '',
  );
  for (const [scenario, { rows }] of Object.entries(results.scenarios)) {
    lines.push(`**${scenario}**`, '');
    lines.push('| contender | req/s | p50 | p99 | × bare | × express-session | CPU µs/req | × bare (CPU) | × express-session (CPU) |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      lines.push(
        `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} ms | ${fmt(r.p99, 2)} ms | ${ratio(r.ratioToBare)} | ${ratio(r.ratioToExpressSession)} | ` +
          `${fmt(r.cpuPerRequest)} | ${ratio(r.cpuRatioToBare)} | ${ratio(r.cpuRatioToExpressSession)} |`,
      );
    }
    lines.push('');
  }
  if (results.deltaCost?.length) {
    lines.push('**No lost updates: delta saves vs whole-record saves (write scenario)**', '');
    lines.push('| store | delta saves req/s | whole-record saves req/s | ratio |', '|---|---:|---:|---:|');
    for (const d of results.deltaCost) lines.push(`| ${d.store} | ${fmt(d.deltaRps)} | ${fmt(d.wholeRps)} | ${ratio(d.ratio)} |`);
    lines.push('');
  }
  if (results.targets?.length) {
    lines.push('**Targets**', '', '| target | measured (req/s) | by CPU per request | met |', '|---|---:|---:|---|');
    for (const t of results.targets) {
      lines.push(`| ${t.target} | ${ratio(t.measured)} | ${ratio(t.cpu)} | ${t.met == null ? 'not measured' : t.met ? 'yes' : 'no'} |`);
    }
    lines.push('');
  }
  if (results.stores) {
    const s = results.stores;
    lines.push(`**Stores** (operations per second, ${s.concurrency} in flight, ${s.population} sessions)`, '');
    lines.push('| store | get | set | touch | setIfVersion |', '|---|---:|---:|---:|---:|');
    for (const o of s.ops) {
      lines.push(`| ${o.store}${o.reference ? ' (reference)' : ''} | ${fmt(o.ops.get)} | ${fmt(o.ops.set)} | ${fmt(o.ops.touch)} | ${fmt(o.ops.setIfVersion)} |`);
    }
    lines.push('');
    for (const mem of s.memory) lines.push(`- ${mem.store}: ${fmt(mem.bytesPerSession)} bytes of heap per session at ${fmt(mem.sessions)} sessions (record JSON: ${mem.recordBytes} bytes)`);
    lines.push('');
  }
  if (results.notes?.length) {
    lines.push('Notes:', '', ...results.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}
