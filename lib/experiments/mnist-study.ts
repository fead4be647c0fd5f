// The study of docs/mnist.md: vSGD-fd against the rate grids of SGD, momentum SGD, AdaGrad and
// Adam on the MNIST MLP, every run from the same weights in the same sample order. Each finished
// run is written to the study file at once, so that an interrupted study resumes where it stopped.
import fs from 'node:fs';
import path from 'node:path';
import { type MnistData } from '../data/mnist';
import { type MnistAlgo, type MnistResult, type MnistTrainOptions, train } from './mnist';
import { Panel, figureCanvas, legend, png } from './plot';

export interface MnistStudyOptions {
  hidden: number[];
  minibatch: number;
  epochs: number;
  seed: number;
  /** training digits used (default: all) */
  trainSize?: number;
  /** η₀ grids of the baselines */
  grids: Record<Exclude<MnistAlgo, 'vsgdfd'>, number[]>;
  /** vSGD-fd settings besides its defaults: label → options */
  vsgd: Record<string, Pick<MnistTrainOptions, 'vsgd' | 'signs'>>;
  /** extra runs at another minibatch size: vSGD-fd defaults and Adam at its default rate */
  checkMinibatch?: number;
}

export const MNIST_STUDY: MnistStudyOptions = {
  hidden: [256, 128], minibatch: 32, epochs: 5, seed: 1,
  grids: {
    sgd: [0.03, 0.1, 0.3],
    momentum: [0.003, 0.01, 0.03],
    adagrad: [0.003, 0.01, 0.03, 0.1],
    adam: [0.0003, 0.001, 0.003],
  },
  vsgd: {
    "variant 'paper'": { vsgd: { variant: 'paper' } },
    "variant 'paper', sparsity 'instance'": { vsgd: { variant: 'paper', sparsity: 'instance' } },
    "variant 'paper', sparsity 'instance', random signs": { vsgd: { variant: 'paper', sparsity: 'instance' }, signs: true },
  } as MnistStudyOptions['vsgd'],
  checkMinibatch: 10,
};

const NAMES: Record<MnistAlgo, string> = { vsgdfd: 'vSGD-fd', sgd: 'SGD', momentum: 'momentum SGD (μ = 0.9)', adagrad: 'AdaGrad', adam: 'Adam' };

export interface StudyRun { key: string; label: string; options: MnistTrainOptions }

// A run's key: its options, in a fixed order, so that a study with other grids reuses the runs
// it shares with an earlier one.
const keyOf = (o: MnistTrainOptions) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k as keyof MnistTrainOptions]]));

/** The runs of a study: the baselines' grids, then vSGD-fd, then the runs at the second minibatch
 * size. */
export function studyRuns(o: MnistStudyOptions): StudyRun[] {
  const common = { hidden: o.hidden, minibatch: o.minibatch, epochs: o.epochs, seed: o.seed, diagnose: true, ...(o.trainSize ? { trainSize: o.trainSize } : {}) };
  const runs: Omit<StudyRun, 'key'>[] = [];
  for (const algorithm of ['sgd', 'momentum', 'adagrad', 'adam'] as const) {
    for (const lr of o.grids[algorithm]) runs.push({ label: `${NAMES[algorithm]} η₀=${lr}`, options: { ...common, algorithm, lr } });
  }
  runs.push({ label: 'vSGD-fd (defaults)', options: { ...common, algorithm: 'vsgdfd' } });
  for (const [label, extra] of Object.entries(o.vsgd)) runs.push({ label: `vSGD-fd ${label}`, options: { ...common, algorithm: 'vsgdfd', ...extra } });
  if (o.checkMinibatch) {
    const n = o.checkMinibatch;
    runs.push({ label: `Adam η₀=0.001, n = ${n}`, options: { ...common, minibatch: n, algorithm: 'adam', lr: 0.001 } });
    runs.push({ label: `vSGD-fd (defaults), n = ${n}`, options: { ...common, minibatch: n, algorithm: 'vsgdfd' } });
  }
  return runs.map((r) => ({ ...r, key: keyOf(r.options) }));
}

export interface StudyFile {
  options: MnistStudyOptions;
  /** run key → result */
  runs: Record<string, MnistResult>;
}

/** Reads a study file and keeps the runs these options share with it, or starts an empty one. */
export function readStudy(file: string, o: MnistStudyOptions): StudyFile {
  const runs: Record<string, MnistResult> = {};
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as StudyFile;
    for (const r of studyRuns(o)) if (s.runs?.[r.key]) runs[r.key] = s.runs[r.key];
  } catch {
    // absent or unreadable: start afresh
  }
  return { options: o, runs };
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Runs what the study file lacks, saving after each run; progress gets (runs done, all, label). */
export async function runStudy(data: MnistData, o: MnistStudyOptions, file: string, progress?: (done: number, total: number, stage: string) => void, signal?: AbortSignal): Promise<StudyFile> {
  const study = readStudy(file, o);
  const runs = studyRuns(o);
  let done = runs.filter((r) => study.runs[r.key]).length;
  for (const r of runs) {
    if (study.runs[r.key]) continue;
    progress?.(done, runs.length, r.label);
    study.runs[r.key] = await train(data, r.options, (a, b) => progress?.(done + a / b, runs.length, r.label), signal);
    writeAtomic(file, `${JSON.stringify(study)}\n`);
    done++;
  }
  progress?.(done, runs.length, 'done');
  return study;
}

const COLORS: Record<string, string> = { sgd: '#1f77b4', momentum: '#17becf', adagrad: '#ff7f0e', adam: '#9467bd' };
// vSGD-fd's runs: the defaults first
const VSGD_COLORS = ['#2ca02c', '#8c564b', '#e377c2', '#7f7f7f'];

/** The best run of a baseline's grid by final held-out accuracy (ties: lower log-loss). */
export function bestOf(s: StudyFile, algorithm: Exclude<MnistAlgo, 'vsgdfd'>): { lr: number; run: MnistResult } | null {
  let best: { lr: number; run: MnistResult } | null = null;
  for (const lr of s.options.grids[algorithm]) {
    const run = s.runs[studyRuns(s.options).find((r) => r.options.algorithm === algorithm && r.options.lr === lr && r.options.minibatch === s.options.minibatch)?.key ?? ''];
    if (!run) continue;
    if (!best || run.accuracy > best.run.accuracy || (run.accuracy === best.run.accuracy && run.logLoss < best.run.logLoss)) best = { lr, run };
  }
  return best;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}`;

/** The study's tables as markdown. */
export function studyTables(s: StudyFile): string {
  const o = s.options;
  const lines = [`MNIST, MLP 784-${o.hidden.join('-')}-10 (ReLU), n = ${o.minibatch}, ${o.epochs} epochs, sample order seed ${o.seed}; held-out: the 10,000 test digits.`, '',
    '| optimizer | η₀ | held-out accuracy % | held-out log-loss | training log-loss | seconds |', '|---|---|---|---|---|---|'];
  const row = (name: string, lr: string, r: MnistResult | undefined) => {
    if (r) lines.push(`| ${name} | ${lr} | ${pct(r.accuracy)} | ${r.logLoss.toFixed(4)} | ${r.train.logLoss.toFixed(4)} | ${r.seconds.toFixed(0)} |`);
  };
  for (const r of studyRuns(o)) {
    const x = s.runs[r.key];
    if (!x || x.minibatch !== o.minibatch) continue;
    row(r.options.algorithm === 'vsgdfd' ? r.label : NAMES[r.options.algorithm], r.options.lr === undefined ? '–' : String(r.options.lr), x);
  }
  if (o.checkMinibatch) {
    lines.push('', `n = ${o.checkMinibatch}:`, '', '| optimizer | held-out accuracy % | held-out log-loss | seconds |', '|---|---|---|---|');
    for (const r of studyRuns(o)) {
      const x = s.runs[r.key];
      if (x && x.minibatch === o.checkMinibatch) lines.push(`| ${r.label} | ${pct(x.accuracy)} | ${x.logLoss.toFixed(4)} | ${x.seconds.toFixed(0)} |`);
    }
  }
  const mine = s.runs[studyRuns(o).find((r) => r.options.algorithm === 'vsgdfd' && !r.options.vsgd && r.options.minibatch === o.minibatch)?.key ?? ''];
  const theirs = (['sgd', 'momentum', 'adagrad', 'adam'] as const).map((a) => bestOf(s, a)?.run).filter((r): r is MnistResult => !!r);
  if (mine && theirs.length) {
    // the held-out error of the defaults against every baseline's best run, checkpoint by checkpoint
    const below = mine.curve.filter((c, k) => theirs.every((r) => r.curve[k] && c[2] > r.curve[k][2])).length;
    lines.push('', `vSGD-fd (defaults) is more accurate on the held-out digits than every baseline's best run at ${below} of its ${mine.curve.length} checkpoints.`);
  }
  for (const r of studyRuns(o).filter((x) => x.options.algorithm === 'vsgdfd' && x.options.minibatch === o.minibatch)) {
    const d = s.runs[r.key]?.diagnostics;
    if (!d) continue;
    lines.push('', `${r.label}: per layer at the end (medians over the coordinates past bootstrap):`, '',
      '| layer | size | bootstrapping | η (10% / 50% / 90%) | h / diagonal Hessian | g²/v | h²/vh | τ | \\|η·g\\| |', '|---|---|---|---|---|---|---|---|---|');
    for (const L of d) {
      lines.push(`| ${L.name} | ${L.size} | ${L.bootstrapping} | ${[L.etaLow, L.eta, L.etaHigh].map((x) => x.toExponential(1)).join(' / ')} | ${L.curvatureRatio.toPrecision(3)} | ` +
        `${L.gradientSnr.toExponential(1)} | ${L.curvatureSteadiness.toExponential(1)} | ${L.memory.toFixed(0)} | ${L.step.toExponential(1)} |`);
    }
  }
  return lines.join('\n');
}

/** Left: final held-out error against η₀ per baseline, vSGD-fd as lines; right: held-out error
 * against epochs for the vSGD-fd runs and each baseline's best η₀. */
export function studyPng(s: StudyFile): Buffer {
  const o = s.options;
  const { canvas, ctx } = figureCanvas(940, 455);
  const err = (r: MnistResult) => 100 * (1 - r.accuracy);
  const all = Object.values(s.runs).filter((r) => r.minibatch === o.minibatch);
  const errs = all.flatMap((r) => r.curve.map((c) => 100 * (1 - c[2]))).filter((x) => x > 0);
  const ymin = Math.max(0.5, Math.min(...errs) / 1.2), ymax = Math.min(50, Math.max(...errs) * 1.2);
  const ticks = [0.5, 1, 1.5, 2, 3, 5, 10, 20, 50].filter((t) => t >= ymin && t <= ymax);
  const yAxis = { min: ymin, max: ymax, log: true, label: 'held-out error %', ticks };
  const lrs = Object.values(o.grids).flat();
  const lo = Math.min(...lrs) / 1.5, hi = Math.max(...lrs) * 1.5;
  const decades = [1e-4, 1e-3, 1e-2, 1e-1, 1].filter((t) => t >= lo && t <= hi);
  const left = new Panel(ctx, 80, 40, 340, 330, { min: lo, max: hi, log: true, label: 'η₀', ticks: decades, format: (v) => (v >= 1 ? String(v) : `1e${Math.round(Math.log10(v))}`) }, yAxis);
  left.frame(`after ${o.epochs} epochs, n = ${o.minibatch}`);
  for (const a of ['sgd', 'momentum', 'adagrad', 'adam'] as const) {
    const byLr = new Map(studyRuns(o).filter((r) => r.options.algorithm === a && r.options.minibatch === o.minibatch).map((r) => [r.options.lr as number, s.runs[r.key]]));
    const pts = o.grids[a].map((lr) => [lr, byLr.get(lr)] as const).filter(([, r]) => r);
    const ys = pts.map(([, r]) => Math.min(err(r as MnistResult), ymax));
    left.line(pts.map(([lr]) => lr), ys, COLORS[a]);
    pts.forEach(([lr], k) => left.dot(lr, ys[k], COLORS[a]));
  }
  const vs = studyRuns(o).filter((r) => r.options.algorithm === 'vsgdfd' && r.options.minibatch === o.minibatch && s.runs[r.key]);
  vs.forEach((r, k) => {
    const x = s.runs[r.key];
    left.line([lo, hi], [err(x), err(x)], VSGD_COLORS[k % VSGD_COLORS.length], 2, [6, 4]);
  });
  const right = new Panel(ctx, 540, 40, 360, 330, { min: 0, max: o.epochs, label: 'epochs', ticks: Array.from({ length: o.epochs + 1 }, (_, k) => k) }, yAxis);
  right.frame('learning curves (baselines at their best η₀)');
  type Shown = { color: string; label: string; dash?: number[]; run: MnistResult };
  const mine: Shown[] = vs.map((r, k) => ({ color: VSGD_COLORS[k % VSGD_COLORS.length], label: r.label, dash: [6, 4], run: s.runs[r.key] }));
  const theirs: Shown[] = [];
  for (const a of ['sgd', 'momentum', 'adagrad', 'adam'] as const) {
    const b = bestOf(s, a);
    if (b) theirs.push({ color: COLORS[a], label: `${NAMES[a]} ${b.lr}`, run: b.run });
  }
  for (const x of [...mine, ...theirs]) right.line(x.run.curve.map((c) => c[0]), x.run.curve.map((c) => 100 * (1 - c[2])), x.color, 2, x.dash);
  legend(ctx, 30, 410, mine.map(({ color, label, dash }) => ({ color, label, dash })));
  legend(ctx, 30, 432, theirs.map(({ color, label }) => ({ color, label })));
  return png(canvas);
}

/** Writes the figure and the tables next to the study file. */
export function writeStudyOutputs(s: StudyFile, dir: string): void {
  writeAtomic(path.join(dir, 'mnist-study.png'), studyPng(s));
  writeAtomic(path.join(dir, 'mnist-study.md'), `${studyTables(s)}\n`);
}
