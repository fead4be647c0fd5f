// The report's figures as PNG buffers. Every number drawn here comes from the results that
// results.json also holds.
import type { GridResult } from './elementary';
import { drawGrid, layout, paintSquare, type Layout } from './heatmap';
import type { Panel as MinibatchPanel } from './minibatch';
import { canvasModule, Panel, figureCanvas, legend, png } from './plot';
import type { Figure3 } from './reweight';

const NOISE_COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e'];
const pow2 = (v: number) => (v >= 1024 ? `${v / 1024}k` : String(v));
const sci = (v: number) => (v >= 1 ? String(v) : `1e${Math.round(Math.log10(v))}`);

const N_AXIS = (ns: number[]) => ({
  min: ns[0], max: ns[ns.length - 1], log: true, label: 'minibatch size n', ticks: ns.filter((_, k) => k % 2 === 0), format: pow2,
});
const REL_AXIS = { min: 1e-3, max: 1.5, log: true, label: 'relative gain per sample', ticks: [0.001, 0.01, 0.1, 1], format: sci };

export function figure1Png(panels: MinibatchPanel[]): Buffer {
  const pw = 300;
  const { canvas, ctx } = figureCanvas(80 + panels.length * (pw + 70), 420);
  panels.forEach((p, k) => {
    const ax = new Panel(ctx, 80 + k * (pw + 70), 40, pw, 300, N_AXIS(p.curves[0].ns), REL_AXIS);
    ax.frame(p.title);
    p.curves.forEach((c, j) => ax.line(c.ns, c.relative, NOISE_COLORS[j % NOISE_COLORS.length]));
    for (const [j, n, v, se] of p.dots) {
      ax.line([n, n], [Math.max(v - 2 * se, REL_AXIS.min), v + 2 * se], '#000', 1);
      ax.dot(n, v, NOISE_COLORS[j % NOISE_COLORS.length], 3.5, '#000');
    }
  });
  legend(ctx, 80, 400, [
    ...panels[0].curves.map((c, j) => ({ color: NOISE_COLORS[j % NOISE_COLORS.length], label: `σ² = ${c.noise}` })),
    { color: '#444', label: 'dots: Monte Carlo on the noisy quadratic (bars: ±2 standard errors)', dot: true },
  ]);
  return png(canvas);
}

export function figure2Png(panels: MinibatchPanel[]): Buffer {
  const pw = 240;
  const { canvas, ctx } = figureCanvas(80 + panels.length * (pw + 70), 420);
  panels.forEach((p, k) => {
    const ax = new Panel(ctx, 80 + k * (pw + 70), 40, pw, 300, N_AXIS(p.curves[0].ns), REL_AXIS);
    ax.frame(p.title);
    for (const [, n, v] of p.fixed ?? []) ax.dot(n, v, '#e6c619', 2.5);
    ax.line(p.curves[1].ns, p.curves[1].relative, '#d62728');
    ax.line(p.curves[0].ns, p.curves[0].relative, '#2ca02c');
    for (const [j, n, v, se] of p.dots) {
      ax.line([n, n], [Math.max(v - 2 * se, REL_AXIS.min), v + 2 * se], '#000', 1);
      ax.dot(n, v, j === 0 ? '#2ca02c' : '#d62728', 3.5, '#000');
    }
    ax.line([1 / p.density, 1 / p.density], [REL_AXIS.min, REL_AXIS.max], '#999', 1, [3, 3]);
  });
  legend(ctx, 80, 400, [
    { color: '#2ca02c', label: 'instance-based m (eq. 4)' },
    { color: '#d62728', label: 'long-term average (global)' },
    { color: '#e6c619', label: '40 fixed SGD rates, 0.01 to 100', dot: true },
    { color: '#999', label: 'n = 1/p', dash: [3, 3] },
    { color: '#444', label: 'Monte Carlo', dot: true },
  ]);
  return png(canvas);
}

export function figure3Png(f: Figure3): Buffer {
  const { canvas, ctx } = figureCanvas(620, 470);
  const ax = new Panel(ctx, 60, 40, 480, 330, { min: -0.1, max: 1.5, label: 'gradient, coordinate 1', ticks: [0, 0.5, 1, 1.5] },
    { min: -0.1, max: 1, label: 'gradient, coordinate 2', ticks: [0, 0.5, 1] });
  ax.frame(`${f.n} sample gradients from two clusters (shares ${f.options.share} and ${Math.round((1 - f.options.share) * 100) / 100})`);
  f.samples.forEach((s, j) => ax.arrow(0, 0, s[0], s[1], f.labels[j] === 0 ? '#f2c94c' : '#7fc7e8', 1));
  ax.arrow(0, 0, f.clustered[0], f.clustered[1], '#2ca02c', 2, [5, 4]);
  ax.arrow(0, 0, f.mean[0], f.mean[1], '#d62728', 3);
  ax.arrow(0, 0, f.reweighted.direction[0], f.reweighted.direction[1], '#1f4fd8', 3);
  legend(ctx, 60, 420, [
    { color: '#f2c94c', label: 'samples, common cluster' },
    { color: '#7fc7e8', label: 'samples, rare cluster' },
  ]);
  legend(ctx, 60, 445, [
    { color: '#d62728', label: 'mean' },
    { color: '#1f4fd8', label: `reweighted, eq. 5 (n_eff = ${f.reweighted.nEff.toFixed(2)})` },
    { color: '#2ca02c', label: 'hard clustering', dash: [5, 4] },
  ]);
  return png(canvas);
}

/** Figure 5: learning curves of a few runs next to the same data as heatmap squares. */
export function figure5Png(grid: GridResult, caseIndex: number, rowIndices: number[], blue: number[]): Buffer {
  const colors = ['#1f4fd8', '#d62728', '#2ca02c'];
  const steps = grid.steps;
  const c = grid.cases[caseIndex];
  const xs = steps.map((s) => Math.log2(s + 1));
  const rows = rowIndices.map((r) => grid.rows[r]);
  let lo = 0;
  let hi = 0;
  for (const row of rows) {
    for (const t of row.squares[caseIndex].trials) for (const v of t) if (v !== null) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  }
  lo = Math.floor(lo);
  hi = Math.max(1, Math.ceil(hi));
  const [w, h] = [8, 200]; // the squares: 8 px per step, 200 px for the runs
  const sqW = steps.length * w;
  const width = 600 + rows.length * (sqW + 24);
  const { canvas, ctx } = figureCanvas(width, 470);
  const ax = new Panel(ctx, 70, 40, 460, 340, { min: 0, max: xs[xs.length - 1], label: 'log2(step + 1)', ticks: xs.map((_, k) => k).filter((k) => k <= xs[xs.length - 1]) },
    { min: lo, max: hi, label: 'log10(loss / initial loss)', ticks: Array.from({ length: hi - lo + 1 }, (_, k) => lo + k) });
  ax.frame(`${c.loss}, A = ${c.A}, σ² = ${c.noise}: ${rows[0].squares[caseIndex].trials.length} runs each, n = ${rows[0].n}`);
  rows.forEach((row, k) => {
    const sq = row.squares[caseIndex];
    for (const t of sq.trials) ax.line(xs, t, colors[k] + '66', 1);
    ax.line(xs, sq.meanExcess.map((m) => (m === null ? null : Math.log10(m / sq.e0))), colors[k], 3);
  });
  legend(ctx, 70, 430, rows.map((row, k) => ({ color: colors[k], label: row.setting.label })));
  // the same data as squares, larger than in Figure 6
  const img = ctx.getImageData(0, 0, width, 470);
  rows.forEach((row, k) => paintSquare(img.data, width, 600 + k * (sqW + 24), 60, row.squares[caseIndex].sorted, blue[caseIndex], w, h));
  ctx.putImageData(img, 0, 0);
  ctx.fillStyle = '#222';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  rows.forEach((row, k) => ctx.fillText(row.setting.label.replace(' (defaults)', ''), 600 + k * (sqW + 24) + sqW / 2, 266));
  const mid = (600 + width - 24) / 2;
  ctx.fillText('all runs, sorted by loss at each step (best on top)', mid, 290);
  ctx.fillText(`blue saturates at ${blue[caseIndex].toFixed(2)} decades below the initial loss`, mid, 306);
  return png(canvas);
}

export function figure6Png(grid: GridResult, blue: number[], L: Layout = layout(grid)): Buffer {
  const canvas = canvasModule().createCanvas(L.width, L.height);
  drawGrid(canvas, grid, L, blue);
  return png(canvas);
}
