// The results as an SVG bar chart (docs/bench.svg): one panel per scenario, one bar per
// contender. A bar's length is the contender's median req/s, and every figure in its label is
// computed from those same medians (the ratios are ratios of medians), so that a longer bar
// never carries a smaller ratio.
import { versusName } from './contenders.js';
import { describeRun, scenarioTitle } from './markdown.js';

const colors = {
  none: '#9ca3af',
  floor: '#10b981',
  'express-session': '#f59e0b',
  sessionkit: '#2563eb',
  variant: '#93c5fd',
};

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const x = (n) => (n == null || !Number.isFinite(n) ? null : `${n.toFixed(2)}×`);

/**
 * The text beside a bar: req/s, then its ratios to bare Express, the floor and the package it is
 * compared with (express-session, or the framework's own session package).
 */
export function barLabel(r) {
  const parts = [`${Math.round(r.rps).toLocaleString('en-US')} req/s`];
  if (r.id !== 'bare' && x(r.ratioToBare)) parts.push(`${x(r.ratioToBare)} bare`);
  if (r.id !== 'floor' && r.id !== 'bare' && x(r.ratioToFloor)) parts.push(`${x(r.ratioToFloor)} floor`);
  if (x(r.ratioToExpressSession)) parts.push(`${x(r.ratioToExpressSession)} ${versusName(r.id) ?? 'express-session'}`);
  return parts.join(' · ');
}

export function renderChart(results) {
  const width = 1040;
  const labelWidth = 330;
  const barMax = 360;
  const rowHeight = 24;
  const barHeight = 16;
  const font = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
  const parts = [];
  let y = 34;
  parts.push(`<text x="16" y="${y}" font-size="18" font-weight="600">Requests per second, higher is better</text>`);
  y += 20;
  parts.push(`<text x="16" y="${y}" font-size="12" fill="#4b5563">${escape(describeRun(results))}</text>`);
  y += 14;
  for (const [scenario, { rows }] of Object.entries(results.scenarios)) {
    y += 28;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="600">${escape(scenarioTitle(scenario, results.config))}</text>`);
    y += 10;
    const max = Math.max(...rows.map((r) => r.rps));
    for (const r of rows) {
      const variant = r.library === 'sessionkit' && r.id.endsWith('-whole');
      const fill = variant ? colors.variant : colors[r.library] ?? colors.none;
      const w = Math.max(1, Math.round((r.rps / max) * barMax));
      const top = y + (rowHeight - barHeight) / 2;
      parts.push(
        `<text x="${labelWidth - 8}" y="${top + barHeight - 4}" font-size="12" text-anchor="end">${escape(r.label)}</text>`,
        `<rect x="${labelWidth}" y="${top}" width="${w}" height="${barHeight}" rx="2" fill="${fill}"/>`,
        `<text x="${labelWidth + w + 6}" y="${top + barHeight - 4}" font-size="12" fill="#111827">${escape(barLabel(r))}</text>`,
      );
      y += rowHeight;
    }
  }
  y += 16;
  const legend = [
    'Bar: median req/s over the rounds, scaled within each panel. × bare, × floor, × a package: that median over the median of',
    'bare Express (no session), of the floor (the least a signed-cookie session can do) and of the package replaced, with the same',
    'kind of store: express-session, or on Fastify, Koa and Hono their own session package (ratios of medians).',
    'A load average above the core count means the machine was shared during the run.',
  ];
  legend.forEach((line, i) => parts.push(`<text x="16" y="${y + 14 * i}" font-size="11" fill="#4b5563">${escape(line)}</text>`));
  y += 14 * legend.length + 12;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ${font}>\n` +
    `<rect width="100%" height="100%" fill="#ffffff"/>\n` +
    parts.join('\n') +
    '\n</svg>\n'
  );
}
