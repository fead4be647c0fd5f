// Just enough charting on a Skia canvas (@napi-rs/canvas) for the report's line and scatter
// figures: a panel with linear or log axes, ticks, lines, dots and arrows. Charting libraries
// that run in Node want a DOM or node-canvas; these few figures do not need one.
import type { Canvas } from '@napi-rs/canvas';
import { optional } from '../optional';

type Ctx = ReturnType<Canvas['getContext']>;

export interface AxisSpec {
  min: number;
  max: number;
  log?: boolean;
  label: string;
  ticks: number[];
  format?: (v: number) => string;
}

export class Panel {
  constructor(
    readonly ctx: Ctx,
    readonly x0: number,
    readonly y0: number,
    readonly w: number,
    readonly h: number,
    readonly xa: AxisSpec,
    readonly ya: AxisSpec,
  ) {}

  px(v: number): number {
    return this.x0 + this.w * frac(this.xa, v);
  }
  py(v: number): number {
    return this.y0 + this.h * (1 - frac(this.ya, v));
  }
  inside(x: number, y: number): boolean {
    return x >= this.xa.min && x <= this.xa.max && y >= this.ya.min && y <= this.ya.max;
  }

  frame(title: string): void {
    const { ctx } = this;
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(this.x0 + 0.5, this.y0 + 0.5, this.w, this.h);
    ctx.fillStyle = '#222';
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of this.xa.ticks) {
      const x = this.px(t);
      ctx.fillRect(x, this.y0 + this.h, 1, 4);
      ctx.fillText((this.xa.format ?? String)(t), x, this.y0 + this.h + 6);
    }
    ctx.fillText(this.xa.label, this.x0 + this.w / 2, this.y0 + this.h + 22);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of this.ya.ticks) {
      const y = this.py(t);
      ctx.fillRect(this.x0 - 4, y, 4, 1);
      ctx.fillText((this.ya.format ?? String)(t), this.x0 - 6, y);
    }
    ctx.save();
    ctx.translate(this.x0 - 44, this.y0 + this.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(this.ya.label, 0, 0);
    ctx.restore();
    ctx.font = 'bold 12px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(title, this.x0 + this.w / 2, this.y0 - 6);
  }

  /** a polyline through the points inside the axes' range */
  line(xs: number[], ys: (number | null)[], color: string, width = 2, dash: number[] = []): void {
    const { ctx } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(this.x0, this.y0, this.w, this.h);
    ctx.clip();
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    let pen = false;
    xs.forEach((x, k) => {
      const y = ys[k];
      if (y === null || !Number.isFinite(y) || (this.ya.log && y <= 0)) {
        pen = false;
        return;
      }
      const [px, py] = [this.px(x), this.py(clamp(this.ya, y))];
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      pen = true;
    });
    ctx.stroke();
    ctx.restore();
  }

  dot(x: number, y: number, color: string, r = 3, outline?: string): void {
    if (!this.inside(x, y)) return;
    const { ctx } = this;
    ctx.beginPath();
    ctx.arc(this.px(x), this.py(y), r, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    if (outline) {
      ctx.strokeStyle = outline;
      ctx.lineWidth = 1;
      ctx.stroke();
    }
  }

  arrow(x1: number, y1: number, x2: number, y2: number, color: string, width = 2, dash: number[] = []): void {
    const { ctx } = this;
    const [ax, ay, bx, by] = [this.px(x1), this.py(y1), this.px(x2), this.py(y2)];
    const a = Math.atan2(by - ay, bx - ax);
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(ax, ay);
    ctx.lineTo(bx, by);
    ctx.stroke();
    ctx.setLineDash([]);
    const head = 5 + 2 * width;
    ctx.beginPath();
    ctx.moveTo(bx, by);
    ctx.lineTo(bx - head * Math.cos(a - 0.4), by - head * Math.sin(a - 0.4));
    ctx.lineTo(bx - head * Math.cos(a + 0.4), by - head * Math.sin(a + 0.4));
    ctx.closePath();
    ctx.fill();
  }
}

function frac(a: AxisSpec, v: number): number {
  if (a.log) return (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min));
  return (v - a.min) / (a.max - a.min);
}

function clamp(a: AxisSpec, v: number): number {
  return Math.min(a.max, Math.max(a.min, v));
}

export function figureCanvas(width: number, height: number): { canvas: Canvas; ctx: Ctx } {
  const canvas = canvasModule().createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  return { canvas, ctx };
}

/** a row of coloured swatches with names */
export function legend(ctx: Ctx, x: number, y: number, items: { color: string; label: string; dash?: number[]; dot?: boolean }[]): void {
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let cx = x;
  for (const it of items) {
    ctx.strokeStyle = it.color;
    ctx.fillStyle = it.color;
    if (it.dot) {
      ctx.beginPath();
      ctx.arc(cx + 10, y, 3.5, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.lineWidth = 2;
      ctx.setLineDash(it.dash ?? []);
      ctx.beginPath();
      ctx.moveTo(cx, y);
      ctx.lineTo(cx + 20, y);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = '#222';
    ctx.fillText(it.label, cx + 25, y);
    cx += 35 + ctx.measureText(it.label).width;
  }
}

export const png = (canvas: Canvas): Buffer => canvas.toBuffer('image/png');

/** @napi-rs/canvas, loaded when a figure is first drawn (lib/optional.ts). */
export function canvasModule(): typeof import('@napi-rs/canvas') {
  return optional('@napi-rs/canvas', 'Drawing the figures (vsgd-fd simulate, train --study)');
}
