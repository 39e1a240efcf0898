// The results as an SVG bar chart (docs/bench.svg): one panel per scenario, one bar per
// contender, its length the ratio to bare Express (the median of per-round ratios, the figure
// the run reports), labelled with that ratio, the requests per second and the ratio to
// express-session.

const colors = {
  none: '#9ca3af',
  'express-session': '#f59e0b',
  sessionkit: '#2563eb',
  variant: '#93c5fd',
};

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

const titles = {
  read: 'read: a logged-in session, unmodified',
  write: 'write: a counter incremented every request',
  new: 'new: no cookie, a new session saved per request',
};

export function renderChart(results) {
  const width = 960;
  const labelWidth = 340;
  const barMax = 380;
  const rowHeight = 24;
  const barHeight = 16;
  const font = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
  const parts = [];
  let y = 34;
  const { machine, config } = results;
  parts.push(`<text x="16" y="${y}" font-size="18" font-weight="600">Throughput as a share of bare Express, higher is better</text>`);
  y += 20;
  parts.push(
    `<text x="16" y="${y}" font-size="12" fill="#4b5563">${escape(
      `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${config.tool}, ${config.connections} connections, ` +
        `median of ${config.rounds} interleaved rounds of ${config.duration} s; ${results.generatedAt.slice(0, 10)}` +
        (machine.loadAverageAtStart != null ? `; load average ${machine.loadAverageAtStart.toFixed(1)}–${machine.loadAverageAtEnd.toFixed(1)}` : ''),
    )}</text>`,
  );
  y += 14;
  for (const [scenario, { rows }] of Object.entries(results.scenarios)) {
    y += 28;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="600">${escape(titles[scenario] ?? scenario)}</text>`);
    y += 10;
    const max = Math.max(1, ...rows.map((r) => r.ratioToBare ?? 0));
    for (const r of rows) {
      const variant = r.library === 'sessionkit' && r.id.endsWith('-whole');
      const fill = variant ? colors.variant : colors[r.library] ?? colors.none;
      const w = Math.max(1, Math.round(((r.ratioToBare ?? 0) / max) * barMax));
      const top = y + (rowHeight - barHeight) / 2;
      const text = `${(r.ratioToBare ?? 0).toFixed(2)}× bare · ${Math.round(r.rps).toLocaleString('en-US')} req/s` +
        (r.ratioToExpressSession != null ? ` · ${r.ratioToExpressSession.toFixed(2)}× e-s` : '');
      parts.push(
        `<text x="${labelWidth - 8}" y="${top + barHeight - 4}" font-size="12" text-anchor="end">${escape(r.label)}</text>`,
        `<rect x="${labelWidth}" y="${top}" width="${w}" height="${barHeight}" rx="2" fill="${fill}"/>`,
        `<text x="${labelWidth + w + 6}" y="${top + barHeight - 4}" font-size="12" fill="#111827">${escape(text)}</text>`,
      );
      y += rowHeight;
    }
  }
  y += 16;
  parts.push(
    `<text x="16" y="${y}" font-size="11" fill="#4b5563">${escape(
      '× bare: requests per second relative to bare Express (no session middleware); × e-s: relative to express-session with the same',
    )}</text>`,
    `<text x="16" y="${y + 14}" font-size="11" fill="#4b5563">${escape(
      'kind of store. Both are medians of per-round ratios; req/s is the median over the rounds. A load average above the core count',
    )}</text>`,
    `<text x="16" y="${y + 28}" font-size="11" fill="#4b5563">${escape(
      'means the machine was shared with other work during the run.',
    )}</text>`,
  );
  y += 40;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ${font}>\n` +
    `<rect width="100%" height="100%" fill="#ffffff"/>\n` +
    parts.join('\n') +
    '\n</svg>\n'
  );
}
