// Logistic regression on the hashed SpamAssassin rows (lib/problems/spam.ts) with per-sample
// gradients (p − y)·x. vSGD-fd with sparse rates takes CSR rows (updateSparse/probeSparse, O(nnz)
// per step); vSGD-fd with sparsity 'none' and the baselines, which exist only as dense native
// optimizers, take dense n × d rows, so the study runs at a smaller hash (docs/spam.md).
import { type Optimizer, type SparseRows, VSGDfd, type VSGDfdOptions } from '../index';
import { mpiStatus } from '../mpi';
import { baseline } from './baseline';
import { type SpamData, type SpamSet } from '../problems/spam';
import { rng } from '../problems/random';
import { pacer } from './elementary';
import { Panel, figureCanvas, legend, png } from './plot';

export const SPAM_ALGOS = ['vsgdfd', 'sgd', 'adagrad', 'adam'] as const;
export type SpamAlgo = (typeof SPAM_ALGOS)[number];
export type Rule = 'instance' | 'global' | 'none';

export interface TrainOptions {
  algorithm: SpamAlgo;
  minibatch: number;
  epochs: number;
  /** sample order */
  seed: number;
  /** vSGD-fd: 'instance' and 'global' step on sparse rows, 'none' on dense rows */
  sparsity?: Rule;
  /** baselines' η₀ */
  lr?: number;
  /** more vSGD-fd options (defaults otherwise) */
  vsgd?: Omit<VSGDfdOptions, 'minibatch' | 'sparsity'>;
  /** vSGD-fd's shifted values: 'joint' (default) evaluates each row at the probe point, which
   * moves all its coordinates at once; 'diagonal' moves only the entry's own coordinate (a
   * per-coordinate finite difference, same cost here since z is known; not the paper's method) */
  probe?: 'joint' | 'diagonal';
  /** held-out evaluation every this many samples (0: at the end only) */
  evalEvery?: number;
  /** held-out log-losses to reach; the run stops once it has reached them all */
  targets?: number[];
  threads?: number;
  /** vSGD-fd: compute TrainResult.diagnostics (one more pass over the training set) */
  diagnose?: boolean;
  /** 'mpi': this process is one rank of an MPI job (docs/distributed.md). Every rank draws the
   * same sample stream; a step takes `minibatch` samples per rank, consecutive in the stream, and
   * each rank computes the gradients of its own share only. */
  comm?: 'mpi';
}

export interface Eval { accuracy: number; logLoss: number }

export interface TrainResult extends Eval {
  algorithm: SpamAlgo;
  minibatch: number;
  /** MPI ranks that shared each step (1 without MPI): a step took minibatch × ranks samples */
  ranks: number;
  sparsity?: string;
  /** vSGD-fd's variant */
  variant?: string;
  lr?: number;
  d: number;
  samples: number;
  steps: number;
  seconds: number;
  /** [samples seen, held-out log-loss, held-out accuracy] */
  curve: [number, number, number][];
  /** per target: samples seen at the first evaluation that reached it (null: never) */
  samplesToTarget: (number | null)[];
  /** vSGD-fd only, at the end */
  diagnostics?: Diagnostics;
}

export interface Diagnostics {
  /** coordinates that occur in the training set, and those of them past their bootstrap */
  seen: number;
  moving: number;
  /** medians over the moving coordinates: the rate η, and the curvature estimate h divided by
   * the diagonal Hessian mean σ'(z)·x_i² over the training rows that contain i (at the final θ) */
  eta: number;
  curvatureRatio: number;
  /** medians over the moving coordinates of g²/v (small: noisy gradients) and h²/vh (small:
   * the curvature varies a lot between samples) */
  gradientSnr: number;
  curvatureSteadiness: number;
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

function diagnose(opt: VSGDfd, set: SpamSet, theta: Float32Array): Diagnostics {
  const { tau, eta, h, g, v, vh } = opt.state;
  const hess = new Float64Array(theta.length), count = new Uint32Array(theta.length);
  for (let j = 0; j < set.labels.length; j++) {
    const p = sigmoid(dot(set, j, theta));
    for (let k = set.offsets[j]; k < set.offsets[j + 1]; k++) {
      hess[set.indices[k]] += p * (1 - p) * set.values[k] * set.values[k];
      count[set.indices[k]]++;
    }
  }
  const moving: number[] = [];
  let seen = 0;
  for (let i = 0; i < theta.length; i++) {
    if (count[i] === 0) continue;
    seen++;
    if (tau[i] > 0) moving.push(i);
  }
  return {
    seen, moving: moving.length, eta: median(moving.map((i) => eta[i])), curvatureRatio: median(moving.map((i) => h[i] / (hess[i] / count[i]))),
    gradientSnr: median(moving.map((i) => (g[i] * g[i]) / v[i])), curvatureSteadiness: median(moving.map((i) => (h[i] * h[i]) / vh[i])),
  };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
// −log σ(−z) without overflow
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

function dot(s: SpamSet, j: number, w: Float32Array): number {
  let z = 0;
  for (let k = s.offsets[j]; k < s.offsets[j + 1]; k++) z += w[s.indices[k]] * s.values[k];
  return z;
}

/** Accuracy (threshold 1/2) and mean log-loss of the weights w on a set. */
export function evaluate(s: SpamSet, w: Float32Array): Eval {
  const n = s.labels.length;
  let right = 0, loss = 0;
  for (let j = 0; j < n; j++) {
    const z = dot(s, j, w);
    const y = s.labels[j];
    right += (z > 0 ? 1 : 0) === y ? 1 : 0;
    loss += softplus(y ? -z : z);
  }
  return { accuracy: right / n, logLoss: loss / n };
}

function make(o: TrainOptions, theta: Float32Array): Optimizer {
  const common = { minibatch: o.minibatch, threads: o.threads ?? 1, ...(o.comm ? { comm: o.comm } : {}) };
  switch (o.algorithm) {
    case 'vsgdfd':
      return new VSGDfd(theta, { ...o.vsgd, ...common, sparsity: o.sparsity ?? 'instance' });
    default:
      return baseline(o.algorithm, theta, { lr: o.lr, ...common });
  }
}

/** The gradient rows of a minibatch, as CSR views on reused buffers. */
class Batch {
  readonly offsets: Int32Array;
  #indices = new Int32Array(1024);
  #values = new Float32Array(1024);
  #shifted = new Float32Array(1024);
  rows: number[] = [];

  constructor(readonly s: SpamSet, n: number) {
    this.offsets = new Int32Array(n + 1);
  }

  /** these rows of the set, with values (p − y)·x at w */
  fill(rows: number[], w: Float32Array): SparseRows {
    const s = this.s;
    this.rows = rows;
    let nnz = 0;
    rows.forEach((j, r) => (this.offsets[r + 1] = nnz += s.offsets[j + 1] - s.offsets[j]));
    if (this.#indices.length < nnz) {
      const cap = 2 * nnz;
      [this.#indices, this.#values, this.#shifted] = [new Int32Array(cap), new Float32Array(cap), new Float32Array(cap)];
    }
    rows.forEach((j, r) => this.#indices.set(s.indices.subarray(s.offsets[j], s.offsets[j + 1]), this.offsets[r]));
    this.#scale(w, this.#values);
    return { offsets: this.offsets.subarray(0, rows.length + 1), indices: this.#indices.subarray(0, nnz), values: this.#values.subarray(0, nnz) };
  }

  /** the same entries at the probe point `at` (w: the current point) */
  shifted(at: Float32Array, w: Float32Array, diagonal: boolean): Float32Array {
    if (diagonal) this.#diagonal(at, w, this.#shifted);
    else this.#scale(at, this.#shifted);
    return this.#shifted.subarray(0, this.offsets[this.rows.length]);
  }

  #scale(w: Float32Array, out: Float32Array): void {
    const s = this.s;
    this.rows.forEach((j, r) => {
      const e = sigmoid(dot(s, j, w)) - s.labels[j];
      for (let k = s.offsets[j], o = this.offsets[r]; k < s.offsets[j + 1]; k++, o++) out[o] = e * s.values[k];
    });
  }

  // entry k of row j at w + (at_i − w_i)·e_i: only z changes, by the entry's own shift
  #diagonal(at: Float32Array, w: Float32Array, out: Float32Array): void {
    const s = this.s;
    this.rows.forEach((j, r) => {
      const z = dot(s, j, w);
      for (let k = s.offsets[j], o = this.offsets[r]; k < s.offsets[j + 1]; k++, o++) {
        const i = s.indices[k];
        out[o] = (sigmoid(z + (at[i] - w[i]) * s.values[k]) - s.labels[j]) * s.values[k];
      }
    });
  }
}

/** Writes CSR rows into zeroed n × d dense rows; the returned function zeroes them again (O(nnz)). */
function scatter(rows: SparseRows, values: Float32Array, d: number, out: Float32Array): () => void {
  const n = rows.offsets.length - 1;
  const put = (src: Float32Array | null) => {
    for (let r = 0; r < n; r++) {
      for (let k = rows.offsets[r]; k < rows.offsets[r + 1]; k++) out[r * d + rows.indices[k]] = src ? src[k] : 0;
    }
  };
  put(values);
  return () => put(null);
}

/** Trains from θ = 0 for `epochs` passes over the training set (a fresh seeded shuffle each),
 * in minibatches of consecutive samples of that stream. Yields to the event loop now and then. */
export async function train(data: SpamData, o: TrainOptions, progress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<TrainResult> {
  const start = performance.now();
  const { d, train: set, test } = data;
  const N = set.labels.length;
  const n = o.minibatch;
  const theta = new Float32Array(d);
  const opt = make(o, theta);
  const { rank, size } = o.comm === 'mpi' ? mpiStatus() : { rank: 0, size: 1 };
  const sparse = o.algorithm === 'vsgdfd' && (o.sparsity ?? 'instance') !== 'none';
  const dense = sparse ? null : { grads: new Float32Array(n * d), shifted: new Float32Array(n * d) };
  const batch = new Batch(set, n);
  const diagonal = o.probe === 'diagonal';
  const r = rng(o.seed);
  let order: number[] = [];
  let pos = N;
  const next = () => {
    if (pos === N) {
      order = Array.from({ length: N }, (_, k) => k);
      for (let k = N - 1; k > 0; k--) {
        const j = Math.floor(r.uniform() * (k + 1));
        [order[k], order[j]] = [order[j], order[k]];
      }
      pos = 0;
    }
    return order[pos++];
  };
  const steps = Math.max(1, Math.round((o.epochs * N) / (n * size)));
  const every = o.evalEvery ?? 0;
  const targets = o.targets ?? [];
  const reached: (number | null)[] = targets.map(() => null);
  const curve: [number, number, number][] = [];
  let nextEval = every > 0 ? every : Infinity;
  let samples = 0;
  let done = 0;
  let diagnostics: Diagnostics | undefined;
  let seconds = 0;
  const variant = o.algorithm === 'vsgdfd' ? (opt as VSGDfd).options.variant : undefined;
  const pause = pacer(progress, signal, 100);
  try {
    for (let t = 0; t < steps; t++) {
      const rows = batch.fill(Array.from({ length: n * size }, next).slice(rank * n, (rank + 1) * n), theta);
      if (sparse) {
        const fd = opt as VSGDfd; // sparse rows: vSGD-fd only
        if (opt.needsCurvature) {
          const at = fd.probeSparse(rows);
          fd.updateSparse({ ...rows, shifted: batch.shifted(at, theta, diagonal) });
        } else fd.updateSparse(rows);
      } else {
        const { grads, shifted } = dense as { grads: Float32Array; shifted: Float32Array };
        const clear = scatter(rows, rows.values, d, grads);
        if (opt.needsCurvature) {
          const at = (opt as VSGDfd).probe(grads);
          const clear2 = scatter(rows, batch.shifted(at, theta, diagonal), d, shifted);
          (opt as VSGDfd).update(grads, shifted);
          clear2();
        } else opt.update(grads);
        clear();
      }
      samples += n * size;
      done = t + 1;
      if (samples >= nextEval || (every > 0 && t === steps - 1)) {
        while (nextEval <= samples) nextEval += every;
        const e = evaluate(test, theta);
        curve.push([samples, e.logLoss, e.accuracy]);
        targets.forEach((x, k) => (reached[k] ??= e.logLoss <= x ? samples : null));
        if ((targets.length && reached.every((s) => s !== null)) || !Number.isFinite(e.logLoss)) break;
      }
      await pause(t + 1, steps);
    }
    progress?.(steps, steps);
    seconds = (performance.now() - start) / 1000;
    if (o.algorithm === 'vsgdfd' && o.diagnose) diagnostics = diagnose(opt as VSGDfd, set, theta);
  } finally {
    opt.dispose();
  }
  const e = evaluate(test, theta);
  return {
    algorithm: o.algorithm, minibatch: n, ranks: size, ...(o.algorithm === 'vsgdfd' ? { sparsity: o.sparsity ?? 'instance', variant } : { lr: o.lr }),
    d, samples, steps: done, seconds, ...e, curve, samplesToTarget: reached, ...(diagnostics ? { diagnostics } : {}),
  };
}

// ---- The study of docs/spam.md: baselines over their rate grids, and the minibatch sweep ----

export interface StudyOptions {
  /** η₀ grids of the baselines */
  grids: Record<Exclude<SpamAlgo, 'vsgdfd'>, number[]>;
  /** comparison: minibatch, epochs, and the sample-order seeds every setting runs with (a setting
   * is ranked by its mean over them: one order alone moves the accuracy by a message or two) */
  minibatch: number;
  epochs: number;
  comparisonSeeds: number[];
  /** minibatch sweep: sizes, rules, sample-order seeds, held-out log-loss targets, epoch cap */
  ns: number[];
  rules: Rule[];
  seeds: number[];
  targets: number[];
  maxEpochs: number;
}

export const STUDY: StudyOptions = {
  grids: { sgd: [0.1, 0.3, 1, 3, 10, 30, 100], adagrad: [0.01, 0.03, 0.1, 0.3, 1, 3], adam: [0.001, 0.003, 0.01, 0.03, 0.1, 0.3] },
  minibatch: 1, epochs: 5, comparisonSeeds: [1, 2, 3, 4, 5],
  ns: [1, 2, 4, 8, 16, 32, 64, 128, 256], rules: ['instance', 'global', 'none'], seeds: [1, 2], targets: [0.2, 0.1], maxEpochs: 10,
};

/** A comparison run and the sample-order seed it ran with. */
export interface SeededResult extends TrainResult { seed: number }
export interface SweepPoint { rule: Rule; n: number; seed: number; samplesToTarget: (number | null)[]; seconds: number }
export interface StudyResult {
  options: StudyOptions;
  d: number;
  /** training-set and held-out sizes */
  train: number;
  test: number;
  /** every setting × every comparison seed, seeds innermost */
  comparison: SeededResult[];
  sweep: SweepPoint[];
}

/** Runs the comparison and the sweep; progress gets (runs done, runs in all, what runs now). */
export async function study(data: SpamData, o: StudyOptions, progress?: (done: number, total: number, stage: string) => void, signal?: AbortSignal): Promise<StudyResult> {
  const N = data.train.labels.length;
  const settings: { label: string; run: Omit<TrainOptions, 'seed'> }[] = [
    { label: 'vSGD-fd', run: { algorithm: 'vsgdfd', sparsity: 'instance', minibatch: o.minibatch, epochs: o.epochs } },
    { label: "vSGD-fd variant 'paper'", run: { algorithm: 'vsgdfd', sparsity: 'instance', vsgd: { variant: 'paper' }, minibatch: o.minibatch, epochs: o.epochs } },
  ];
  for (const algorithm of ['sgd', 'adagrad', 'adam'] as const) {
    for (const lr of o.grids[algorithm]) settings.push({ label: `${algorithm} η₀=${lr}`, run: { algorithm, lr, minibatch: o.minibatch, epochs: o.epochs } });
  }
  const runs = settings.flatMap(({ label, run }) => o.comparisonSeeds.map((seed) => ({ label: `${label} seed ${seed}`, run: { ...run, seed } })));
  const sweep: { label: string; rule: Rule; n: number; seed: number }[] = [];
  for (const seed of o.seeds) for (const rule of o.rules) for (const n of o.ns) sweep.push({ label: `sweep ${rule} n=${n} seed ${seed}`, rule, n, seed });
  const total = runs.length + sweep.length;
  let done = 0;
  const comparison: SeededResult[] = [];
  for (const { label, run } of runs) {
    progress?.(done, total, label);
    comparison.push({ ...(await train(data, { ...run, evalEvery: Math.round(N / 4) }, undefined, signal)), seed: run.seed });
    done++;
  }
  const points: SweepPoint[] = [];
  for (const s of sweep) {
    progress?.(done, total, s.label);
    const r = await train(data, {
      algorithm: 'vsgdfd', sparsity: s.rule, minibatch: s.n, epochs: o.maxEpochs, seed: s.seed, evalEvery: 64, targets: o.targets,
    }, undefined, signal);
    points.push({ rule: s.rule, n: s.n, seed: s.seed, samplesToTarget: r.samplesToTarget, seconds: r.seconds });
    done++;
  }
  progress?.(done, total, 'done');
  return { options: o, d: data.d, train: N, test: data.test.labels.length, comparison, sweep: points };
}

/** One setting of the comparison: its runs (one per seed) and their means; `curve` is the mean of
 * the runs' curves (they evaluate at the same sample counts). */
export interface Setting extends TrainResult { runs: SeededResult[] }

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The comparison's settings in the order they ran, each with its mean over the seeds. */
export function settings(r: StudyResult): Setting[] {
  const groups = new Map<string, SeededResult[]>();
  for (const x of r.comparison) {
    const key = `${x.algorithm} ${x.variant ?? ''} ${x.lr ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  return [...groups.values()].map((runs) => ({
    ...runs[0], runs,
    accuracy: mean(runs.map((x) => x.accuracy)), logLoss: mean(runs.map((x) => x.logLoss)), seconds: mean(runs.map((x) => x.seconds)),
    curve: runs[0].curve.map((c, k) => [c[0], mean(runs.map((x) => x.curve[k][1])), mean(runs.map((x) => x.curve[k][2]))]),
  }));
}

const isDefault = (x: TrainResult) => x.algorithm === 'vsgdfd' && x.variant !== 'paper';
const settingName = (x: TrainResult) => (x.algorithm === 'vsgdfd' ? `vSGD-fd ${x.variant === 'paper' ? "variant 'paper'" : '(defaults)'}` : NAMES[x.algorithm]);

/** The baselines' best setting by mean held-out accuracy (then log-loss), and how far below it the
 * defaults land, in points of accuracy: on the mean, and seed by seed against that setting. */
export function verdict(r: StudyResult): { defaults: Setting; best: Setting; gap: number; perSeed: number[] } {
  const all = settings(r);
  const defaults = all.find(isDefault) as Setting;
  const best = all.filter((x) => x.algorithm !== 'vsgdfd').reduce((p, q) => (q.accuracy > p.accuracy || (q.accuracy === p.accuracy && q.logLoss < p.logLoss) ? q : p));
  const perSeed = defaults.runs.map((x, k) => 100 * (best.runs[k].accuracy - x.accuracy));
  return { defaults, best, gap: 100 * (best.accuracy - defaults.accuracy), perSeed };
}

/** The comparison as markdown (docs/img/spam-study.md). */
export function comparisonMarkdown(r: StudyResult, target = 0.3): string {
  const o = r.options;
  const wrong = (acc: number) => Math.round((1 - acc) * r.test);
  const lines = [
    `SpamAssassin, logistic regression, d = ${r.d}, n = ${o.minibatch}, ${o.epochs} epochs, ${r.train} training / ${r.test} held-out messages; every setting runs with sample-order seeds ${o.comparisonSeeds.join(', ')}.`,
    '',
    `| optimizer | η₀ | held-out accuracy, seed ${o.comparisonSeeds.join(' / ')} | mean accuracy | messages wrong (mean) | mean log-loss | mean seconds |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const x of settings(r)) {
    lines.push(`| ${settingName(x)} | ${x.lr ?? '–'} | ${x.runs.map((y) => y.accuracy.toFixed(4)).join(' / ')} | ${x.accuracy.toFixed(4)} | ${mean(x.runs.map((y) => wrong(y.accuracy))).toFixed(1)} | ${x.logLoss.toFixed(4)} | ${x.seconds.toFixed(1)} |`);
  }
  const v = verdict(r);
  lines.push('', `Best tuned setting by mean accuracy: ${settingName(v.best)} η₀ = ${v.best.lr} (${v.best.accuracy.toFixed(4)}). vSGD-fd (defaults): ${v.defaults.accuracy.toFixed(4)}, ` +
    `${v.gap.toFixed(2)} points below it (target: within ${target.toFixed(2)}: ${v.gap <= target ? 'met' : 'missed'}); seed by seed against that setting: ${v.perSeed.map((g) => g.toFixed(2)).join(', ')} points.`);
  return lines.join('\n');
}

/** Mean samples-to-target over seeds per (rule, n); null when some seed never reached it. */
export function sweepTable(r: StudyResult): { rule: Rule; n: number; samples: (number | null)[] }[] {
  const out: { rule: Rule; n: number; samples: (number | null)[] }[] = [];
  for (const rule of r.options.rules) {
    for (const n of r.options.ns) {
      const pts = r.sweep.filter((p) => p.rule === rule && p.n === n);
      const samples = r.options.targets.map((_, k) => {
        const xs = pts.map((p) => p.samplesToTarget[k]);
        return xs.every((x) => x !== null) ? Math.round((xs as number[]).reduce((a, b) => a + b, 0) / xs.length) : null;
      });
      out.push({ rule, n, samples });
    }
  }
  return out;
}

const COLORS: Record<string, string> = { vsgdfd: '#2ca02c', paper: '#8c564b', sgd: '#1f77b4', adagrad: '#ff7f0e', adam: '#9467bd', instance: '#2ca02c', global: '#d62728', none: '#555' };
const NAMES: Record<string, string> = { vsgdfd: 'vSGD-fd (defaults)', sgd: 'SGD', adagrad: 'AdaGrad', adam: 'Adam', instance: "vSGD-fd 'instance' (eq. 4)", global: "vSGD-fd 'global'", none: "vSGD-fd 'none' (dense rates)" };
const DASH: Record<string, number[]> = { global: [6, 4] };
const decades = (lo: number, hi: number) => {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
};
const short = (v: number) => (v >= 1 ? String(v) : `1e${Math.round(Math.log10(v))}`);

/** Left: final held-out log-loss against η₀; right: held-out log-loss against samples for
 * vSGD-fd and each baseline's best η₀. */
export function comparisonPng(r: StudyResult): Buffer {
  const { canvas, ctx } = figureCanvas(900, 430);
  const all = settings(r);
  const base = all.filter((x) => x.algorithm !== 'vsgdfd');
  const v = all.find(isDefault) as Setting;
  const paper = all.find((x) => x.algorithm === 'vsgdfd' && x.variant === 'paper');
  const lrs = base.map((x) => x.lr as number);
  const losses = all.flatMap((x) => x.curve.map((c) => c[1])).filter((x) => Number.isFinite(x));
  const ymin = Math.min(...losses) / 1.5, ymax = 1;
  const yAxis = { min: ymin, max: ymax, log: true, label: 'held-out log-loss', ticks: decades(ymin, ymax).filter((t) => t >= ymin && t <= ymax), format: short };
  const left = new Panel(ctx, 80, 40, 330, 320, { min: Math.min(...lrs) / 1.5, max: Math.max(...lrs) * 1.5, log: true, label: 'η₀', ticks: decades(Math.min(...lrs), Math.max(...lrs)), format: short }, yAxis);
  left.frame(`after ${r.options.epochs} epochs, n = ${r.options.minibatch}, d = ${r.d}, mean of ${r.options.comparisonSeeds.length} seeds`);
  for (const a of ['sgd', 'adagrad', 'adam'] as const) {
    const xs = base.filter((x) => x.algorithm === a);
    left.line(xs.map((x) => x.lr as number), xs.map((x) => (Number.isFinite(x.logLoss) ? Math.min(x.logLoss, ymax) : ymax)), COLORS[a]);
    for (const x of xs) left.dot(x.lr as number, Number.isFinite(x.logLoss) ? Math.min(x.logLoss, ymax) : ymax, COLORS[a]);
  }
  left.line([left.xa.min, left.xa.max], [v.logLoss, v.logLoss], COLORS.vsgdfd, 2, [6, 4]);
  if (paper) left.line([left.xa.min, left.xa.max], [paper.logLoss, paper.logLoss], COLORS.paper, 2, [2, 3]);
  const N = r.train;
  const E = r.options.epochs;
  const right = new Panel(ctx, 520, 40, 330, 320, { min: 0, max: E, label: 'epochs', ticks: Array.from({ length: E + 1 }, (_, k) => k) }, yAxis);
  right.frame('learning curves (best η₀ of each baseline)');
  const best = (a: SpamAlgo) => base.filter((x) => x.algorithm === a).reduce((p, q) => (q.logLoss < p.logLoss ? q : p));
  const shown = [v, ...(paper ? [paper] : []), best('sgd'), best('adagrad'), best('adam')];
  const color = (x: TrainResult) => COLORS[x === paper ? 'paper' : x.algorithm];
  for (const x of shown) right.line(x.curve.map((c) => c[0] / N), x.curve.map((c) => c[1]), color(x), 2, x === paper ? [2, 3] : []);
  const label = (x: TrainResult) => (x.algorithm === 'vsgdfd' ? settingName(x) : `${NAMES[x.algorithm]} (best η₀ = ${x.lr})`);
  legend(ctx, 30, 405, shown.map((x) => ({ color: color(x), label: label(x), dash: x === paper ? [2, 3] : undefined })));
  return png(canvas);
}

/** Samples to each held-out log-loss target against n, per rate rule (mean over seeds). */
export function sweepPng(r: StudyResult): Buffer {
  const table = sweepTable(r);
  const { canvas, ctx } = figureCanvas(520 * r.options.targets.length, 430);
  const reached = table.flatMap((x) => x.samples.filter((s): s is number => s !== null));
  const all = reached.length ? reached : [r.train];
  const ymin = Math.min(...all) / 1.5, ymax = Math.max(...all) * 1.5;
  const ns = r.options.ns;
  r.options.targets.forEach((target, k) => {
    const ax = new Panel(ctx, 80 + 520 * k, 40, 400, 320,
      { min: ns[0] / 1.2, max: ns[ns.length - 1] * 1.2, log: true, label: 'minibatch size n', ticks: ns },
      { min: ymin, max: ymax, log: true, label: 'samples to reach the target', ticks: decades(ymin, ymax).filter((t) => t >= ymin && t <= ymax) });
    ax.frame(`held-out log-loss ≤ ${target} (missing: not within ${r.options.maxEpochs} epochs)`);
    for (const rule of r.options.rules) {
      const rows = table.filter((x) => x.rule === rule);
      ax.line(rows.map((x) => x.n), rows.map((x) => x.samples[k]), COLORS[rule], 2, DASH[rule]);
      for (const x of rows) if (x.samples[k] !== null) ax.dot(x.n, x.samples[k] as number, COLORS[rule]);
    }
  });
  legend(ctx, 80, 405, r.options.rules.map((rule) => ({ color: COLORS[rule], label: NAMES[rule], dash: DASH[rule] })));
  return png(canvas);
}
