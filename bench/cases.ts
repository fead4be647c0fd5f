// The library's side of the bench: the triad probe, SGD, Adam and vSGD-fd through the public
// classes (update() with precomputed rows), and the plain TypeScript loop on the same state.
import { Adam, SGD, VSGDfd, type VSGDfdOptions } from '../lib/index.ts';
import { addon } from '../lib/native.ts';
import { type FdState, tsProbe, tsUpdate } from './tsloop.ts';
import { type Budget, measure, type Stat, timesOf } from './timing.ts';

export interface Result {
  case: string;
  d: number;
  n: number;
  /** 0: the library's default (all cores) */
  threads: number;
  /** minimal bytes moved per call (see BENCHMARKS.md) */
  bytes: number;
  stat?: Stat;
  /** why the case was not measured */
  skipped?: string;
  note?: string;
  /** case 'rounds': per round, each case's median ms (see rounds()) */
  rounds?: Record<string, number>[];
}

// Minimal traffic per coordinate: theta and the five vSGD-fd state arrays read and written
// (48 B), plus n gradient rows and n shifted rows read.
export const fdBytes = (n: number) => 48 + 8 * n;
// A step without curvature reads and writes theta, g, v, tau and only reads h, vh.
export const every4Bytes = (n: number) => (fdBytes(n) + 3 * (40 + 4 * n)) / 4;
export const adamBytes = 28;  // theta, m, v read and written, one gradient row read
export const sgdBytes = 12;
export const triadBytes = 12;  // STREAM's count: two reads and one write, no write-allocate

/** Deterministic rows without paying a random draw per element: a random pool copied at
 * row-dependent offsets. `density` < 1 zeroes that share of the pool (sparse rows). */
export function fillRows(rows: Float32Array, d: number, seed: number, density = 1): void {
  const pool = new Float32Array((1 << 16) + 7);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < pool.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    pool[i] = u < density ? u / density - 0.5 : 0;
  }
  const n = rows.length / d;
  for (let j = 0; j < n; j++) {
    let off = (j * 7919) % pool.length;
    for (let i = 0; i < d;) {
      const len = Math.min(d - i, pool.length - off);
      rows.set(pool.subarray(off, off + len), j * d + i);
      i += len;
      off = 0;
    }
  }
}

export function triad(d: number, threads: number, budget: Budget): Result {
  const a = new Float32Array(d), b = new Float32Array(d).fill(1), c = new Float32Array(d).fill(2);
  const stat = measure(() => addon.triad(a, b, c, 0.5, threads), budget);
  return { case: 'triad', d, n: 0, threads, bytes: triadBytes * d, stat };
}

export function baseline(kind: 'adam' | 'sgd', grads: Float32Array, d: number, threads: number, budget: Budget): Result {
  const theta = new Float32Array(d);
  const opts = threads ? { threads } : {};
  const opt = kind === 'adam' ? new Adam(theta, opts) : new SGD(theta, opts);
  const g = grads.subarray(0, d);
  try {
    const stat = measure(() => void opt.update(g), budget);
    return { case: kind, d, n: 1, threads, bytes: (kind === 'adam' ? adamBytes : sgdBytes) * d, stat };
  } finally {
    opt.dispose();
  }
}

export type FdVariant = 'dense' | 'sparse' | 'every4' | 'signed';

/** A vSGD-fd optimizer past bootstrap: with bootstrap: 1 one step reaches the steady pass that the
 * default bootstrap of 10 reaches after 10 samples (the pass itself does not depend on it). The
 * paper's method (dense rows unless 'sparse'), on which issue 11's targets were set; 'signed': the
 * default options (variant 'signed', sparsity 'instance'). */
export function warmFd(d: number, n: number, grads: Float32Array, shifted: Float32Array, variant: FdVariant, threads: number) {
  const options: VSGDfdOptions = { minibatch: n, bootstrap: 1, variant: variant === 'signed' ? 'signed' : 'paper' };
  if (threads) options.threads = threads;
  if (variant === 'sparse') options.sparsity = 'instance';
  if (variant === 'every4') options.curvatureEvery = 4;
  const theta = new Float32Array(d);
  const opt = new VSGDfd(theta, options);
  const g = grads.subarray(0, n * d), s = shifted.subarray(0, n * d);
  opt.probe(g);
  opt.update(g, s);
  return { opt, g, s };
}

/** probe + update per call (the "step"), with update() alone as the timed part. every4 steps
 * probe and pass shifted rows only when curvature is due, and is timed over whole cycles. */
export function fdStep(d: number, n: number, grads: Float32Array, shifted: Float32Array, variant: FdVariant,
  threads: number, budget: Budget): Result {
  const { opt, g, s } = warmFd(d, n, grads, shifted, variant, threads);
  let skipped = 0;
  try {
    const stat = measure(() => {
      const curv = opt.needsCurvature;
      if (curv) opt.probe(g);
      const t0 = performance.now();
      const info = curv ? opt.update(g, s) : opt.update(g);
      const t = performance.now() - t0;
      skipped = Math.max(skipped, info.skipped);
      return t;
    }, { ...budget, warmed: true, multiple: variant === 'every4' ? 4 : 1 });
    const bytes = (variant === 'every4' ? every4Bytes(n) : fdBytes(n)) * d;
    const name = variant === 'dense' ? 'vsgdfd' : `vsgdfd-${variant}`;
    return { case: name, d, n, threads, bytes, stat, note: skipped ? `${skipped} coordinates skipped (non-finite)` : undefined };
  } finally {
    opt.dispose();
  }
}

/** The plain TypeScript loop on a copy of a warmed-up library state. */
export function tsLoop(d: number, n: number, grads: Float32Array, shifted: Float32Array, budget: Budget): Result {
  const { opt, g, s } = warmFd(d, n, grads, shifted, 'dense', 0);
  const v = opt.state;
  const st: FdState = {
    g: v.g.slice(), v: v.v.slice(), h: v.h.slice(), vh: v.vh.slice(), tau: v.tau.slice(), eta: v.eta.slice(),
  };
  const theta = opt.theta.slice();
  opt.dispose();
  const at = new Float32Array(d);
  const stat = measure(() => {
    tsProbe(theta, st, at);
    const t0 = performance.now();
    tsUpdate(theta, st, g, s, n);
    return performance.now() - t0;
  }, budget);  // not warmed: the loop's first call is where V8 compiles it
  return { case: 'ts-loop', d, n, threads: 1, bytes: fdBytes(n) * d, stat };
}

/** The cases the targets compare, taking turns: each round times the triad, SGD, Adam and the
 * vSGD-fd step at n = 1 and 10 a few calls each, one after the other, so that a ratio between
 * two of them is taken within seconds. This machine's memory bandwidth drifts from minute to
 * minute (the triad's median moved by half between runs); a ratio of cases measured a minute
 * apart carries that drift, a ratio within a round does not. */
export function rounds(d: number, grads: Float32Array, shifted: Float32Array, count: number): Result {
  const a = new Float32Array(d), b = new Float32Array(d).fill(1), c = new Float32Array(d).fill(2);
  const theta = [new Float32Array(d), new Float32Array(d)];
  const sgd = new SGD(theta[0]), adam = new Adam(theta[1]);
  const fd = [1, 10].map((n) => warmFd(d, n, grads, shifted, 'dense', 0));
  const g1 = grads.subarray(0, d);
  const cases: [string, number, () => void][] = [
    ['triad', 9, () => addon.triad(a, b, c, 0.5, 0)],
    ['sgd', 9, () => void sgd.update(g1)],
    ['adam', 5, () => void adam.update(g1)],
    ['vsgdfd:1', 3, () => void (fd[0].opt.probe(fd[0].g), fd[0].opt.update(fd[0].g, fd[0].s))],
    ['vsgdfd:10', 3, () => void (fd[1].opt.probe(fd[1].g), fd[1].opt.update(fd[1].g, fd[1].s))],
  ];
  try {
    for (const [, , f] of cases) f();  // page faults and first calls outside the rounds
    const out: Record<string, number>[] = [];
    for (let r = 0; r < count; r++) {
      const round: Record<string, number> = {};
      for (const [name, calls, f] of cases) round[name] = timesOf(f, calls);
      out.push(round);
    }
    return { case: 'rounds', d, n: 0, threads: 0, bytes: 0, rounds: out };
  } finally {
    sgd.dispose();
    adam.dispose();
    for (const f of fd) f.opt.dispose();
  }
}

/** Whether update() writes the informational eta array (it costs a store per coordinate). */
export function writesEta(): boolean {
  const d = 64, n = 2;
  const g = new Float32Array(n * d), s = new Float32Array(n * d);
  fillRows(g, d, 1);
  fillRows(s, d, 2);
  const { opt } = warmFd(d, n, g, s, 'dense', 1);
  const eta = opt.state.eta.fill(-1);  // a rate is never negative: -1 marks "not written"
  opt.probe(g);
  opt.update(g, s);
  const changed = eta.some((x) => x !== -1);
  opt.dispose();
  return changed;
}
