// The d-sweep chart: time per coordinate against d, both axes logarithmic, so a cost linear in d
// is a flat line and per-call overhead shows as the rise on the left. Drawn as SVG, rendered to
// PNG by resvg (a prebuilt binary from the npm registry; text uses the system's fonts).
import { Resvg } from '@resvg/resvg-js';

export interface Series { name: string; points: { d: number; ms: number }[] }

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function svg(series: Series[], title: string): string {
  const W = 900, H = 540, L = 70, R = 230, T = 40, B = 50;
  const pts = series.flatMap((s) => s.points.map((p) => ({ x: Math.log2(p.d), y: Math.log10((p.ms * 1e6) / p.d) })));
  if (!pts.length) pts.push({ x: 10, y: 0 });
  const x0 = Math.min(...pts.map((p) => p.x)), x1 = Math.max(x0 + 1, ...pts.map((p) => p.x));
  const y0 = Math.floor(Math.min(...pts.map((p) => p.y))), y1 = Math.max(y0 + 1, Math.ceil(Math.max(...pts.map((p) => p.y))));
  const X = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="24" font-size="15">${esc(title)}</text>`,
  ];
  for (let x = Math.ceil(x0); x <= x1; x += x1 - x0 > 10 ? 2 : 1) {
    out.push(`<line x1="${X(x)}" y1="${T}" x2="${X(x)}" y2="${H - B}" stroke="#ddd"/>`,
      `<text x="${X(x)}" y="${H - B + 16}" text-anchor="middle">2^${x}</text>`);
  }
  for (let y = y0; y <= y1; y++) {
    out.push(`<line x1="${L}" y1="${Y(y)}" x2="${W - R}" y2="${Y(y)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${Y(y) + 4}" text-anchor="end">${10 ** y >= 1 ? 10 ** y : (10 ** y).toFixed(-y)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">d (coordinates)</text>`,
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">ns per coordinate per call</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const p = s.points.map((q) => `${X(Math.log2(q.d)).toFixed(1)},${Y(Math.log10((q.ms * 1e6) / q.d)).toFixed(1)}`);
    if (p.length) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${p.join(' ')}"/>`);
    for (const q of p) out.push(`<circle cx="${q.split(',')[0]}" cy="${q.split(',')[1]}" r="3" fill="${c}"/>`);
    const ly = T + 10 + i * 20;
    out.push(`<line x1="${W - R + 12}" y1="${ly}" x2="${W - R + 36}" y2="${ly}" stroke="${c}" stroke-width="3"/>`,
      `<text x="${W - R + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export function png(series: Series[], title: string): Buffer {
  return new Resvg(svg(series, title), { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}
