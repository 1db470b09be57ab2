import type { BenchResult, Ratio } from './bench-types.js';

const WIDTH = 880;
const LABEL_W = 390;
const BAR_W = 300;
const ROW_H = 30;
const TOP = 44;

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Three significant digits, without a trailing ".0". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

/** "target ≥ 0.5" and the like. */
export function targetText(r: Ratio): string {
  if (r.target === undefined) return '';
  const sign = { '>=': '≥', '<=': '≤', '=': '=' }[r.comparison ?? '>='];
  return `target ${sign} ${formatNumber(r.target)}`;
}

function colour(r: Ratio): string {
  if (r.met === undefined) return '#607d8b';
  return r.met ? '#2e7d32' : '#c62828';
}

/**
 * A horizontal bar per ratio, each drawn against its own target (the dashed line in the
 * middle; 1 when there is none) up to twice it, so figures of different units share one
 * picture. Hand-written SVG: no chart dependency.
 */
export function ratioChart(results: readonly BenchResult[]): string {
  const rows = results.flatMap((result) => result.ratios.map((r) => ({ bench: result.name, r })));
  const height = TOP + rows.length * ROW_H + 30;
  const middle = LABEL_W + BAR_W / 2;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="600">runway-relay benchmarks: headline figures against their targets</text>`,
    `<line x1="${LABEL_W}" y1="${TOP - 6}" x2="${LABEL_W}" y2="${height - 24}" stroke="#9e9e9e"/>`,
    `<line x1="${middle}" y1="${TOP - 6}" x2="${middle}" y2="${height - 24}" stroke="#212121" stroke-dasharray="3,2"/>`,
  ];
  rows.forEach(({ bench, r }, i) => {
    const y = TOP + i * ROW_H;
    const reference = r.target !== undefined && r.target !== 0 ? Math.abs(r.target) : 1;
    const share = Math.max(0, Math.min(r.value / reference, 2)) / 2;
    parts.push(`<text x="12" y="${y + 17}">${escapeXml(`${bench}: ${r.label}`)}</text>`);
    parts.push(
      `<rect x="${LABEL_W}" y="${y + 5}" width="${Math.max(1, share * BAR_W)}" height="16" fill="${colour(r)}"/>`,
    );
    const status = r.met === undefined ? '' : r.met ? ' ✓' : ' ✗';
    const label = `${formatNumber(r.value)}${r.target !== undefined ? ` (${targetText(r)})` : ''}${status}`;
    parts.push(`<text x="${LABEL_W + BAR_W + 10}" y="${y + 17}">${escapeXml(label)}</text>`);
  });
  parts.push(
    `<text x="${LABEL_W}" y="${height - 8}" fill="#616161">0</text>`,
    `<text x="${middle}" y="${height - 8}" fill="#616161" text-anchor="middle">target (or 1)</text>`,
    `<text x="${LABEL_W + BAR_W}" y="${height - 8}" fill="#616161" text-anchor="end">2×</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
