// The comparison of docs/tfjs.md and the `train mnist --tfjs` command: vSGD-fd with its defaults
// against tfjs's Adam and SGD with momentum over rate grids (one run each, trainTfjs), the table
// and the figure of held-out loss and accuracy against epochs.
import fs from 'node:fs';
import path from 'node:path';
import { loadMnist } from '../data/mnist';
import { VSGDfd } from '../index';
import { Panel, figureCanvas, legend, png } from './plot';
import {
  DEFAULT_LR, NAMES, SKIP, TFJS_ALGOS, type TfAlgo, type TfBackend, type TfModel, type TfRunOptions, type TfRunResult, trainTfjs,
} from './tfjs-mnist';

/** The comparison of docs/tfjs.md. */
export interface TfStudyOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  model: TfModel;
  backend: TfBackend;
  adam: number[];
  momentum: number[];
  /** vSGD-fd's runs besides its defaults: each batch's gradient as k rows (slices) */
  microbatches: number[];
  train?: number;
  test?: number;
}

export const TFJS_STUDY: TfStudyOptions = {
  epochs: 5, batchSize: 128, seed: 1, model: 'mlp', backend: 'wasm',
  adam: [3e-4, 1e-3, 3e-3, 1e-2], momentum: [0.01, 0.03, 0.1, 0.3], microbatches: [8],
};

export interface TfStudyResult { options: TfStudyOptions; runs: TfRunResult[] }

export function studyRuns(o: TfStudyOptions): TfRunOptions[] {
  const common = { epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, model: o.model, backend: o.backend, train: o.train, test: o.test };
  return [
    { ...common, algorithm: 'vsgdfd' as const },
    ...o.microbatches.map((k) => ({ ...common, algorithm: 'vsgdfd' as const, microbatches: k })),
    ...o.adam.map((lr) => ({ ...common, algorithm: 'adam' as const, lr })),
    ...o.momentum.map((lr) => ({ ...common, algorithm: 'momentum' as const, lr })),
  ];
}

/** where finished runs of the study wait for the rest (delete it to start over) */
export const STUDY_CACHE = path.join('report', 'tfjs-mnist-runs');

// vSGD-fd's runs are keyed by the library's default variant too: a run made before the default
// changed is not taken for one of today's
const defaultVariant = () => new VSGDfd(new Float32Array(1)).options.variant;
const runId = (r: TfRunOptions) => [r.algorithm, r.algorithm === 'vsgdfd' ? defaultVariant() : '', r.lr ?? 'default', r.microbatches ? `m${r.microbatches}` : '', r.model, r.backend, `b${r.batchSize}`, `e${r.epochs}`, `s${r.seed}`, r.train ?? 'all', r.test ?? 'all'].filter(Boolean).join('-');

/**
 * Every run of the comparison. Each finished run is written to `cache` (one JSON file per run),
 * so an interrupted study picks up where it stopped; a run whose file exists is not repeated.
 */
export async function tfjsStudy(o: TfStudyOptions, cache: string, progress?: (done: number, total: number, stage: string) => void, signal?: AbortSignal): Promise<TfStudyResult> {
  const runs = studyRuns(o);
  const data = loadMnist({ train: o.train, test: o.test });
  const per = Math.ceil(data.train.count / o.batchSize) * o.epochs;
  fs.mkdirSync(cache, { recursive: true });
  const out: TfRunResult[] = [];
  for (const [k, r] of runs.entries()) {
    const file = path.join(cache, `${runId(r)}.json`);
    const stage = `${NAMES[r.algorithm]}${r.lr ? ` η = ${r.lr}` : ''} (${k + 1}/${runs.length})`;
    if (fs.existsSync(file)) {
      out.push(JSON.parse(fs.readFileSync(file, 'utf8')) as TfRunResult);
      progress?.((k + 1) * per, runs.length * per, `${stage}: done before`);
      continue;
    }
    const result = await trainTfjs(r, data, (done) => progress?.(k * per + done, runs.length * per, stage), signal);
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${JSON.stringify(result)}\n`);
    fs.renameSync(tmp, file);
    out.push(result);
  }
  return { options: o, runs: out };
}

/** The best run of an algorithm by final held-out accuracy (log-loss breaks ties). */
export function best(r: TfStudyResult, algo: TfAlgo): TfRunResult {
  return r.runs.filter((x) => x.options.algorithm === algo)
    .reduce((p, q) => (q.accuracy > p.accuracy || (q.accuracy === p.accuracy && q.logLoss < p.logLoss) ? q : p));
}

const COLORS: Record<TfAlgo, string> = { vsgdfd: '#d62728', adam: '#1f77b4', momentum: '#2ca02c' };

/** Held-out log-loss and accuracy against epochs: vSGD-fd, Adam at its default rate, and the best rate of each baseline. */
export function studyPng(r: TfStudyResult): Buffer {
  const { canvas, ctx } = figureCanvas(900, 430);
  const v = r.runs.find((x) => x.options.algorithm === 'vsgdfd' && !x.options.microbatches) as TfRunResult;
  const mb = r.runs.find((x) => x.options.algorithm === 'vsgdfd' && x.options.microbatches);
  const adamDefault = r.runs.find((x) => x.options.algorithm === 'adam' && x.options.lr === DEFAULT_LR.adam);
  const shown: { run: TfRunResult; label: string; color: string; dash?: number[] }[] = [{ run: v, label: 'vSGD-fd (defaults)', color: COLORS.vsgdfd }];
  if (mb) shown.push({ run: mb, label: `vSGD-fd, ${mb.options.microbatches} microbatches`, color: COLORS.vsgdfd, dash: [6, 4] });
  const ba = best(r, 'adam'), bm = best(r, 'momentum');
  if (adamDefault) shown.push({ run: adamDefault, label: `tfjs Adam (default η = ${DEFAULT_LR.adam}${ba === adamDefault ? ', the best' : ''})`, color: COLORS.adam, dash: [6, 4] });
  if (ba !== adamDefault) shown.push({ run: ba, label: `tfjs Adam (best η = ${ba.options.lr})`, color: COLORS.adam });
  shown.push({ run: bm, label: `SGD + momentum (best η = ${bm.options.lr})`, color: COLORS.momentum });
  const E = r.options.epochs;
  const xAxis = { min: 0, max: E, label: 'epochs', ticks: Array.from({ length: E + 1 }, (_, k) => k) };
  const losses = shown.flatMap((s) => s.run.epochs.map((e) => e.logLoss));
  const lo = Math.max(0.01, Math.min(...losses) * 0.8), hi = Math.min(10, Math.max(...losses) * 1.2);
  const left = new Panel(ctx, 80, 40, 330, 320, xAxis, { min: lo, max: hi, log: true, label: 'held-out log-loss', ticks: [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1, 2, 3, 5].filter((t) => t >= lo && t <= hi) });
  left.frame(`MNIST, ${r.options.model === 'mlp' ? '784-256-128-10 MLP' : 'small CNN'}, batch ${r.options.batchSize}`);
  const accs = shown.flatMap((s) => s.run.epochs.map((e) => 100 * e.accuracy));
  const alo = Math.floor(Math.min(...accs) - 0.5), ahi = 100;
  const right = new Panel(ctx, 520, 40, 330, 320, xAxis, { min: alo, max: ahi, label: 'held-out accuracy (%)', ticks: Array.from({ length: ahi - alo + 1 }, (_, k) => alo + k).filter((t) => (ahi - alo > 10 ? t % 5 === 0 : true)) });
  right.frame('held-out accuracy');
  right.line([0, E], [97.5, 97.5], '#999', 1, [2, 3]);
  for (const s of shown) {
    const xs = s.run.epochs.map((e) => e.epoch);
    left.line(xs, s.run.epochs.map((e) => e.logLoss), s.color, 2, s.dash);
    right.line(xs, s.run.epochs.map((e) => 100 * e.accuracy), s.color, 2, s.dash);
    s.run.epochs.forEach((e) => {
      left.dot(e.epoch, e.logLoss, s.color);
      right.dot(e.epoch, 100 * e.accuracy, s.color);
    });
  }
  legend(ctx, 80, 405, shown.map((s) => ({ color: s.color, label: s.label, dash: s.dash })));
  return png(canvas);
}

/** What `vsgd-fd train mnist --tfjs` was given. */
export interface TfCommand extends Omit<TfRunOptions, 'algorithm' | 'train' | 'test'> {
  /** checked here: the command line's list is shared with `train spam` */
  algorithm: string;
  trainSize?: number;
  testSize?: number;
  json?: boolean;
  study?: boolean;
  out: string;
}

interface Progress { start(total: number): void; update(done: number, stage: string): void; stop(): void }

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** `vsgd-fd train mnist --tfjs [--study]`: prints the result (or the study's table) and writes the study's files. */
export async function tfjsCommand(c: TfCommand, progress: Progress, signal: AbortSignal, write: (file: string, data: Buffer) => void): Promise<void> {
  if (!(TFJS_ALGOS as readonly string[]).includes(c.algorithm)) {
    throw new Error(`train mnist --tfjs: --algorithm ${c.algorithm} is not one of ${TFJS_ALGOS.join(', ')} (tfjs's own Adam and SGD with momentum 0.9 are the baselines)`);
  }
  progress.start(1);
  if (c.study) {
    const o: TfStudyOptions = { ...TFJS_STUDY, train: c.trainSize, test: c.testSize, backend: c.backend, model: c.model };
    const r = await tfjsStudy(o, STUDY_CACHE, (done, total, stage) => progress.update(done / total, stage), signal);
    progress.stop();
    // seconds: the runs' training time, whether they ran now or were read back
    const json = { command: ['vsgd-fd', ...process.argv.slice(2)].join(' '), seconds: r.runs.reduce((t, x) => t + x.seconds, 0), ...r };
    write(path.join(c.out, 'tfjs-mnist.png'), studyPng(r));
    write(path.join(c.out, 'tfjs-mnist.json'), Buffer.from(`${JSON.stringify(json)}\n`));
    if (c.json) console.log(JSON.stringify(json));
    else console.log(`${studyTable(r)}\nfigures and numbers in ${path.resolve(c.out)}`);
    return;
  }
  const data = loadMnist({ train: c.trainSize, test: c.testSize });
  if (c.microbatches && c.algorithm !== 'vsgdfd') throw new Error('train mnist --tfjs: --microbatches is an option of vsgdfd');
  if (c.variant && c.algorithm !== 'vsgdfd') throw new Error('train mnist --tfjs: --variant is an option of vsgdfd');
  const run: TfRunOptions = { algorithm: c.algorithm as TfAlgo, lr: c.lr, epochs: c.epochs, batchSize: c.batchSize, seed: c.seed, model: c.model, backend: c.backend, ...(c.microbatches ? { microbatches: c.microbatches } : {}), ...(c.variant ? { variant: c.variant } : {}) };
  const r = await trainTfjs(run, data, (done, total) => progress.update(done / total, `epoch ${Math.min(c.epochs, Math.floor((done / total) * c.epochs) + 1)}/${c.epochs}`), signal);
  progress.stop();
  if (c.json) {
    console.log(JSON.stringify({
      problem: 'mnist', tfjs: true, ...r.options, d: r.d, train: data.train.count, test: data.test.count,
      accuracy: r.accuracy, logLoss: r.logLoss, seconds: r.seconds, epochs: r.epochs.length, perEpoch: r.epochs, step: r.step,
      ...(r.layers ? { layers: r.layers } : {}),
    }));
    return;
  }
  const how = run.algorithm === 'vsgdfd' ? [c.variant ? `variant '${c.variant}'` : 'defaults', ...(c.microbatches ? [`${c.microbatches} microbatches`] : [])].join(', ') : `η = ${r.options.lr}`;
  const lines = [`mnist (tfjs, ${c.backend} backend): ${c.model === 'mlp' ? '784-256-128-10 MLP' : 'small CNN'}, d = ${r.d}, ${NAMES[run.algorithm]} (${how}), batch ${c.batchSize}, ${data.train.count} train / ${data.test.count} held-out digits`];
  for (const e of r.epochs) lines.push(`  epoch ${e.epoch}: held-out accuracy ${pct(e.accuracy)}, log-loss ${e.logLoss.toFixed(4)}, ${e.seconds.toFixed(1)} s`);
  const s = r.step;
  if (s.steps > SKIP) lines.push(`per step (medians): gradients ${s.evaluate.toFixed(2)} ms${s.probeEvaluate ? `, gradients at the probe point ${s.probeEvaluate.toFixed(2)} ms` : ''}, optimizer ${s.optimizer.toFixed(3)} ms`);
  console.log(lines.join('\n'));
}

/** The study as a markdown table: final and per-epoch held-out numbers, times. */
export function studyTable(r: TfStudyResult): string {
  const lines = ['| optimizer | η | accuracy by epoch (%) | final log-loss | s / epoch | step: gradients / optimizer (ms) |', '|---|---|---|---|---|---|'];
  for (const x of r.runs) {
    const a = x.options.algorithm;
    const accs = x.epochs.map((e) => (100 * e.accuracy).toFixed(2)).join(' ');
    const step = `${(x.step.evaluate + x.step.probeEvaluate).toFixed(1)} / ${x.step.optimizer.toFixed(2)}`;
    const name = x.options.microbatches ? `${NAMES[a]}, ${x.options.microbatches} microbatches` : NAMES[a];
    lines.push(`| ${name} | ${x.options.lr ?? '–'} | ${accs} | ${x.logLoss.toFixed(4)} | ${(x.seconds / x.epochs.length).toFixed(1)} | ${step} |`);
  }
  return lines.join('\n');
}
