// The paper's concise heatmaps (Figures 5 and 6): one square per (algorithm setting, case),
// x = recorded step (log2), y = the runs sorted by their loss at that step (best at the top),
// colour = log10(loss / initial loss): white at 0, blue below, red above, dark red when not finite.
// Layout and colours are plain functions so that tests can read a pixel back and check it.
import type { Canvas } from '@napi-rs/canvas';
import type { GridResult } from './elementary';

export type RGB = [number, number, number];

const BLUE: RGB[] = [[255, 255, 255], [107, 174, 214], [8, 48, 107]];
const RED: RGB[] = [[255, 255, 255], [251, 106, 74], [103, 0, 13]];
export const NOT_FINITE: RGB = [40, 0, 0];
/** decades above the initial loss at which red saturates */
export const RED_DECADES = 2;

function ramp(stops: RGB[], t: number): RGB {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x));
  const f = x - k;
  return stops[k].map((a, i) => Math.round(a + (stops[k + 1][i] - a) * f)) as RGB;
}

/** Colour of log10(loss / initial loss) when blue saturates `blueDecades` below the start. */
export function colorOf(logRatio: number | null, blueDecades: number): RGB {
  if (logRatio === null || !Number.isFinite(logRatio)) return NOT_FINITE;
  return logRatio <= 0 ? ramp(BLUE, -logRatio / blueDecades) : ramp(RED, logRatio / RED_DECADES);
}

/** Per case: blue saturates at the best gain of the mean loss any row reaches, within [0.5, 6]. */
export function blueScales(grid: GridResult): number[] {
  return grid.cases.map((_, c) => {
    let best = 0;
    for (const row of grid.rows) best = Math.max(best, row.squares[c].gainMean ?? 0);
    return Math.min(6, Math.max(0.5, best));
  });
}

export const CELL_W = 3; // pixels per recorded step
export const SQUARE_H = 40; // pixels for all runs

export interface Layout {
  width: number;
  height: number;
  /** left x of each case's column */
  x: number[];
  /** top y of each grid row (setting x n, in grid.rows order) */
  y: number[];
  squareW: number;
  squareH: number;
}

export function layout(grid: GridResult): Layout {
  const squareW = CELL_W * grid.steps.length;
  const left = 200;
  const top = 64;
  const x: number[] = [];
  let cx = left;
  grid.cases.forEach((c, k) => {
    if (k > 0) cx += c.loss !== grid.cases[k - 1].loss ? 12 : 2;
    x.push(cx);
    cx += squareW;
  });
  const y: number[] = [];
  let cy = top;
  grid.rows.forEach((row, k) => {
    if (k > 0) {
      const prev = grid.rows[k - 1];
      cy += prev.setting.id === row.setting.id ? 1 : prev.setting.algo === row.setting.algo ? 6 : 14;
    }
    y.push(cy);
    cy += SQUARE_H;
  });
  return { width: cx + 16, height: cy + 56, x, y, squareW, squareH: SQUARE_H };
}

/** The run shown at pixel row py (0 = top) of a square: ranks are spread over the height. */
export const rankAt = (py: number, runs: number, height: number) => Math.min(runs - 1, Math.floor((py * runs) / height));

/** Paints one square's pixels into RGBA data of the given row stride (in pixels). */
export function paintSquare(
  data: Uint8ClampedArray, stride: number, x0: number, y0: number, sorted: (number | null)[][], blue: number, w = CELL_W, h = SQUARE_H,
): void {
  const runs = sorted[0].length;
  sorted.forEach((column, s) => {
    for (let py = 0; py < h; py++) {
      const [r, g, b] = colorOf(column[rankAt(py, runs, h)], blue);
      for (let px = 0; px < w; px++) {
        const o = ((y0 + py) * stride + x0 + s * w + px) * 4;
        data[o] = r;
        data[o + 1] = g;
        data[o + 2] = b;
        data[o + 3] = 255;
      }
    }
  });
}

/** Figure 6: the full grid. */
export function drawGrid(canvas: Canvas, grid: GridResult, L: Layout, blue: number[]): void {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, L.width, L.height);
  const img = ctx.getImageData(0, 0, L.width, L.height);
  grid.rows.forEach((row, r) => row.squares.forEach((sq, c) => paintSquare(img.data, L.width, L.x[c], L.y[r], sq.sorted, blue[c])));
  ctx.putImageData(img, 0, 0);
  ctx.fillStyle = '#222';
  ctx.textBaseline = 'middle';
  // column headers: the loss over its 9 cases, then A and σ² per case
  ctx.font = 'bold 13px sans-serif';
  ctx.textAlign = 'center';
  grid.cases.forEach((c, k) => {
    if (k === 0 || grid.cases[k - 1].loss !== c.loss) {
      const last = grid.cases.map((d) => d.loss).lastIndexOf(c.loss);
      ctx.fillText(c.loss, (L.x[k] + L.x[last] + L.squareW) / 2, 16);
    }
  });
  ctx.font = '9px sans-serif';
  grid.cases.forEach((c, k) => {
    ctx.fillText(`A ${c.A}`, L.x[k] + L.squareW / 2, 36);
    ctx.fillText(`σ² ${c.noise}`, L.x[k] + L.squareW / 2, 50);
  });
  ctx.textAlign = 'right';
  grid.rows.forEach((row, r) => {
    ctx.font = '11px sans-serif';
    if (r === 0 || grid.rows[r - 1].setting.id !== row.setting.id) ctx.fillText(row.setting.label, L.x[0] - 44, L.y[r] + L.squareH);
    ctx.font = '9px sans-serif';
    ctx.fillText(`n=${row.n}`, L.x[0] - 6, L.y[r] + L.squareH / 2);
  });
  drawLegend(ctx, 200, L.height - 36);
}

type Ctx = ReturnType<Canvas['getContext']>;

export function drawLegend(ctx: Ctx, x: number, y: number): void {
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.font = '11px sans-serif';
  for (let k = 0; k < 120; k++) {
    const v = -1 + (k / 119) * 2; // -1: blue saturated, +1: red saturated
    ctx.fillStyle = rgb(v <= 0 ? ramp(BLUE, -v) : ramp(RED, v));
    ctx.fillRect(x + k, y, 1, 12);
  }
  ctx.fillStyle = rgb(NOT_FINITE);
  ctx.fillRect(x + 126, y, 12, 12);
  ctx.fillStyle = '#222';
  ctx.fillText('log10(loss / initial loss): white = initial, blue = lower (saturates at the column\'s best gain of the mean, 0.5 to 6 decades),', x + 146, y);
  ctx.fillText(`red = higher (saturates ${RED_DECADES} decades up), dark = not finite.  Square: x = steps 0, 1, 2, 4, …; y = runs sorted by loss, best on top.`, x + 146, y + 15);
}

export const rgb = ([r, g, b]: RGB) => `rgb(${r},${g},${b})`;
