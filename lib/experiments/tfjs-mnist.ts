// MNIST with TensorFlow.js (docs/tfjs.md): a tf.LayersModel trained by fitDataset() with
// vsgd-fd/tfjs's VSGDfdOptimizer or with tfjs's own Adam or SGD with momentum, from the same
// initial weights in the same batch order; held-out accuracy and log-loss after every epoch, and
// where the time of a step goes.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadMnist, type MnistData, type MnistSet } from '../data/mnist';
import { rng } from '../problems/random';
import { VSGDfdOptimizer } from '../tfjs';
import { Interrupted } from './elementary';
import { Panel, figureCanvas, legend, png } from './plot';

export const TFJS_ALGOS = ['vsgdfd', 'adam', 'momentum'] as const;
export type TfAlgo = (typeof TFJS_ALGOS)[number];
export type TfModel = 'mlp' | 'cnn';
export type TfBackend = 'cpu' | 'wasm';
export const NAMES: Record<TfAlgo, string> = { vsgdfd: 'vSGD-fd', adam: 'tfjs Adam', momentum: 'tfjs SGD + momentum 0.9' };
/** tfjs's default rates: Adam's η is 0.001; tf.train.momentum has none, so 0.01 */
export const DEFAULT_LR: Record<Exclude<TfAlgo, 'vsgdfd'>, number> = { adam: 0.001, momentum: 0.01 };
const MOMENTUM = 0.9;

export interface TfRunOptions {
  algorithm: TfAlgo;
  /** η of Adam or momentum SGD (default: DEFAULT_LR) */
  lr?: number;
  epochs: number;
  batchSize: number;
  /** initial weights and batch order */
  seed: number;
  model: TfModel;
  backend: TfBackend;
  /** training / test digits (default all: 60,000 / 10,000) */
  train?: number;
  test?: number;
  /** vSGD-fd: gradient rows per step (default 1, the batch mean) */
  microbatches?: number;
}

export interface EpochResult {
  epoch: number;
  accuracy: number;
  logLoss: number;
  /** mean training loss over the epoch's batches, as fit() reports it */
  trainLoss: number;
  /** training time of the epoch (the held-out evaluation not included) */
  seconds: number;
}

/** Medians over the steps (after the first 20) in milliseconds. */
export interface StepTimes {
  steps: number;
  /** forward and backward pass at θ */
  evaluate: number;
  /** vSGD-fd: forward and backward pass at θ+δ, on curvature steps */
  probeEvaluate: number;
  /** the optimizer's own work: tfjs's applyGradients(); for vSGD-fd gather + write + update */
  optimizer: number;
  /** vSGD-fd only: copying gradients into rows, pointing the variables at θ+δ and back, the native pass */
  gather?: number;
  write?: number;
  update?: number;
}

/** One variable's state after an epoch, as medians over its coordinates unless said: what sets
 * vSGD-fd's rate η = (h + ε)/(vh + ε) · g²/(v + ε) (one row per step). */
export interface LayerState {
  name: string;
  size: number;
  /** 10th, 50th and 90th percentiles of the rate */
  eta: [number, number, number];
  /** the size of the step the rates take: median of η·|g| */
  step: number;
  /** curvature estimate h, its steadiness h²/vh, the gradient's signal to noise g²/v, the memory τ */
  h: number;
  h2vh: number;
  g2v: number;
  tau: number;
}

export interface TfRunResult {
  options: Omit<TfRunOptions, 'lr'> & { lr: number | null };
  d: number;
  epochs: EpochResult[];
  accuracy: number;
  logLoss: number;
  seconds: number;
  step: StepTimes;
  /** vSGD-fd: per variable, the 10th/50th/90th percentiles of the rates, median curvature and memory, after each epoch */
  layers?: LayerState[][];
}

export async function useBackend(name: TfBackend): Promise<void> {
  tf.enableProdMode(); // no console advice from tfjs in the middle of a progress bar
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not initialize`);
  await tf.ready();
}

/** 784-256-128-10 ReLU, or a small CNN; Glorot-uniform weights from `seed`, zero biases. */
export function buildModel(kind: TfModel, seed: number): tf.LayersModel {
  let s = seed * 16;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  const layers: tf.layers.Layer[] = kind === 'mlp'
    ? [
        tf.layers.dense({ units: 256, inputShape: [784], activation: 'relu', kernelInitializer: init() }),
        tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init() }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }),
      ]
    : [
        tf.layers.reshape({ targetShape: [28, 28, 1], inputShape: [784] }),
        tf.layers.conv2d({ filters: 8, kernelSize: 5, activation: 'relu', kernelInitializer: init() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', kernelInitializer: init() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init() }),
      ];
  return tf.sequential({ layers });
}

function optimizer(o: TfRunOptions): tf.Optimizer {
  if (o.algorithm === 'vsgdfd') return new VSGDfdOptimizer(o.microbatches ? { microbatches: o.microbatches } : {});
  const lr = o.lr ?? DEFAULT_LR[o.algorithm];
  return o.algorithm === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, MOMENTUM);
}

/** Held-out accuracy and log-loss (probabilities clipped to [1e-7, 1 − 1e-7], as tfjs's cross-entropy does). */
export function evaluate(model: tf.LayersModel, set: MnistSet): { accuracy: number; logLoss: number } {
  let right = 0, loss = 0;
  const chunk = 1000;
  for (let start = 0; start < set.count; start += chunk) {
    const n = Math.min(chunk, set.count - start);
    const p = tf.tidy(() => (model.predict(tf.tensor2d(set.images.subarray(start * 784, (start + n) * 784), [n, 784])) as tf.Tensor).dataSync());
    for (let i = 0; i < n; i++) {
      const y = set.labels[start + i];
      let best = 0;
      for (let c = 1; c < 10; c++) if (p[i * 10 + c] > p[i * 10 + best]) best = c;
      if (best === y) right++;
      loss -= Math.log(Math.min(1 - 1e-7, Math.max(1e-7, p[i * 10 + y])));
    }
  }
  return { accuracy: right / set.count, logLoss: loss / set.count };
}

// Batches of the training set in `order`, as fitDataset() takes them.
function batches(set: MnistSet, order: Uint32Array, size: number): tf.data.Dataset<tf.TensorContainer> {
  return tf.data.generator(function* () {
    for (let b = 0; b < order.length; b += size) {
      const n = Math.min(size, order.length - b);
      const x = new Float32Array(n * 784);
      const y = new Float32Array(n * 10);
      for (let i = 0; i < n; i++) {
        const k = order[b + i];
        x.set(set.images.subarray(k * 784, (k + 1) * 784), i * 784);
        y[i * 10 + set.labels[k]] = 1;
      }
      yield { xs: tf.tensor2d(x, [n, 784]), ys: tf.tensor2d(y, [n, 10]) };
    }
  });
}

const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (xs: Float32Array, q: number) => {
  const s = Float32Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

function layerStates(opt: VSGDfdOptimizer): LayerState[] {
  const st = (opt.native as NonNullable<VSGDfdOptimizer['native']>).state;
  return (opt.params as NonNullable<VSGDfdOptimizer['params']>).slots.map((s) => {
    const part = (a: Float32Array) => a.subarray(s.offset, s.offset + s.size);
    const [eta, g, v, h, vh] = [st.eta, st.g, st.v, st.h, st.vh].map(part);
    const ratio = (f: (i: number) => number) => quantile(Float32Array.from({ length: s.size }, (_, i) => f(i)), 0.5);
    return {
      name: s.name, size: s.size, eta: [quantile(eta, 0.1), quantile(eta, 0.5), quantile(eta, 0.9)],
      step: ratio((i) => eta[i] * Math.abs(g[i])), h: quantile(h, 0.5), h2vh: ratio((i) => (h[i] * h[i]) / vh[i]),
      g2v: ratio((i) => (g[i] * g[i]) / v[i]), tau: quantile(part(st.tau), 0.5),
    };
  });
}

const SKIP = 20; // warm-up steps (and vSGD-fd's bootstrap) left out of the step timings

/** Trains one model; `progress(done, total)` counts batches. */
export async function trainTfjs(o: TfRunOptions, data: MnistData, progress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<TfRunResult> {
  if (o.model === 'cnn' && o.backend === 'wasm') {
    throw new Error("the CNN needs the cpu backend: tfjs's wasm backend has no gradient kernels for convolutions (Conv2DBackpropFilter)");
  }
  await useBackend(o.backend);
  const model = buildModel(o.model, o.seed);
  const opt = optimizer(o);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  if (opt instanceof VSGDfdOptimizer && (o.microbatches ?? 1) > 1) opt.attach(model);
  const times: Record<'evaluate' | 'probeEvaluate' | 'optimizer' | 'gather' | 'write' | 'update', number[]> =
    { evaluate: [], probeEvaluate: [], optimizer: [], gather: [], write: [], update: [] };
  const ours = opt instanceof VSGDfdOptimizer ? opt : null;
  let step = 0;
  if (!ours) {
    // tfjs's minimize() is computeGradients() then applyGradients(): time each
    const timed = <A extends unknown[], R>(fn: (...a: A) => R, into: number[]) => (...a: A): R => {
      const t = performance.now();
      const r = fn(...a);
      if (step >= SKIP) into.push(performance.now() - t);
      return r;
    };
    opt.computeGradients = timed(opt.computeGradients.bind(opt), times.evaluate);
    opt.applyGradients = timed(opt.applyGradients.bind(opt), times.optimizer);
  }
  const set = data.train;
  const perEpoch = Math.ceil(set.count / o.batchSize);
  const total = perEpoch * o.epochs;
  const order = Uint32Array.from({ length: set.count }, (_, k) => k);
  const random = rng(o.seed);
  const epochs: EpochResult[] = [];
  const layers: LayerState[][] = [];
  let seconds = 0;
  try {
    for (let e = 0; e < o.epochs; e++) {
      for (let k = order.length - 1; k > 0; k--) {
        const j = Math.floor(random.uniform() * (k + 1));
        [order[k], order[j]] = [order[j], order[k]];
      }
      let lossSum = 0;
      const start = performance.now();
      await model.fitDataset(batches(set, order, o.batchSize), {
        epochs: 1, verbose: 0,
        callbacks: {
          onBatchEnd: async (_b, logs) => {
            lossSum += (logs?.loss as number) ?? NaN;
            if (ours?.lastStep && step >= SKIP) {
              const ms = ours.lastStep.ms;
              times.evaluate.push(ms.evaluate);
              if (ours.lastStep.curvature) times.probeEvaluate.push(ms.probeEvaluate);
              times.gather.push(ms.gather);
              times.write.push(ms.write);
              times.update.push(ms.update);
              times.optimizer.push(ms.gather + ms.write + ms.update);
            }
            step++;
            progress?.(step, total);
            if (signal?.aborted) model.stopTraining = true;
          },
        },
      });
      if (signal?.aborted) throw new Interrupted();
      const took = (performance.now() - start) / 1000;
      seconds += took;
      epochs.push({ epoch: e + 1, ...evaluate(model, data.test), trainLoss: lossSum / perEpoch, seconds: took });
      if (ours) layers.push(layerStates(ours));
    }
  } finally {
    model.dispose();
    opt.dispose();
  }
  const last = epochs[epochs.length - 1];
  const d = ours?.params?.theta.length ?? model.countParams();
  const step_: StepTimes = {
    steps: step, evaluate: median(times.evaluate), probeEvaluate: median(times.probeEvaluate), optimizer: median(times.optimizer),
    ...(ours ? { gather: median(times.gather), write: median(times.write), update: median(times.update) } : {}),
  };
  return {
    options: { ...o, lr: o.algorithm === 'vsgdfd' ? null : (o.lr ?? DEFAULT_LR[o.algorithm]) },
    d, epochs, accuracy: last.accuracy, logLoss: last.logLoss, seconds, step: step_, ...(ours ? { layers } : {}),
  };
}

/** The comparison of docs/tfjs.md. */
export interface TfStudyOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  model: TfModel;
  backend: TfBackend;
  adam: number[];
  momentum: number[];
  train?: number;
  test?: number;
}

export const TFJS_STUDY: TfStudyOptions = {
  epochs: 5, batchSize: 128, seed: 1, model: 'mlp', backend: 'wasm',
  adam: [3e-4, 1e-3, 3e-3, 1e-2], momentum: [0.01, 0.03, 0.1, 0.3],
};

export interface TfStudyResult { options: TfStudyOptions; runs: TfRunResult[] }

export function studyRuns(o: TfStudyOptions): TfRunOptions[] {
  const common = { epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, model: o.model, backend: o.backend, train: o.train, test: o.test };
  return [
    { ...common, algorithm: 'vsgdfd' as const },
    ...o.adam.map((lr) => ({ ...common, algorithm: 'adam' as const, lr })),
    ...o.momentum.map((lr) => ({ ...common, algorithm: 'momentum' as const, lr })),
  ];
}

/** where finished runs of the study wait for the rest (delete it to start over) */
export const STUDY_CACHE = path.join('report', 'tfjs-mnist-runs');

const runId = (r: TfRunOptions) => [r.algorithm, r.lr ?? 'default', r.microbatches ? `m${r.microbatches}` : '', r.model, r.backend, `b${r.batchSize}`, `e${r.epochs}`, `s${r.seed}`, r.train ?? 'all', r.test ?? 'all'].filter(Boolean).join('-');

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
  const v = best(r, 'vsgdfd');
  const adamDefault = r.runs.find((x) => x.options.algorithm === 'adam' && x.options.lr === DEFAULT_LR.adam);
  const shown: { run: TfRunResult; label: string; color: string; dash?: number[] }[] = [{ run: v, label: 'vSGD-fd (defaults)', color: COLORS.vsgdfd }];
  if (adamDefault) shown.push({ run: adamDefault, label: `tfjs Adam (default η = ${DEFAULT_LR.adam})`, color: COLORS.adam, dash: [6, 4] });
  const ba = best(r, 'adam'), bm = best(r, 'momentum');
  if (ba !== adamDefault) shown.push({ run: ba, label: `tfjs Adam (best η = ${ba.options.lr})`, color: COLORS.adam });
  shown.push({ run: bm, label: `SGD + momentum (best η = ${bm.options.lr})`, color: COLORS.momentum });
  const E = r.options.epochs;
  const xAxis = { min: 0, max: E, label: 'epochs', ticks: Array.from({ length: E + 1 }, (_, k) => k) };
  const losses = shown.flatMap((s) => s.run.epochs.map((e) => e.logLoss));
  const lo = Math.max(0.01, Math.min(...losses) * 0.8), hi = Math.min(10, Math.max(...losses) * 1.2);
  const left = new Panel(ctx, 80, 40, 330, 320, xAxis, { min: lo, max: hi, log: true, label: 'held-out log-loss', ticks: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5].filter((t) => t >= lo && t <= hi) });
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
    const start = performance.now();
    const r = await tfjsStudy(o, STUDY_CACHE, (done, total, stage) => progress.update(done / total, stage), signal);
    progress.stop();
    const json = { command: ['vsgd-fd', ...process.argv.slice(2)].join(' '), seconds: (performance.now() - start) / 1000, ...r };
    write(path.join(c.out, 'tfjs-mnist.png'), studyPng(r));
    write(path.join(c.out, 'tfjs-mnist.json'), Buffer.from(`${JSON.stringify(json)}\n`));
    if (c.json) console.log(JSON.stringify(json));
    else console.log(`${studyTable(r)}\nfigures and numbers in ${path.resolve(c.out)}`);
    return;
  }
  const data = loadMnist({ train: c.trainSize, test: c.testSize });
  if (c.microbatches && c.algorithm !== 'vsgdfd') throw new Error('train mnist --tfjs: --microbatches is an option of vsgdfd');
  const run: TfRunOptions = { algorithm: c.algorithm as TfAlgo, lr: c.lr, epochs: c.epochs, batchSize: c.batchSize, seed: c.seed, model: c.model, backend: c.backend, ...(c.microbatches ? { microbatches: c.microbatches } : {}) };
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
  const how = run.algorithm === 'vsgdfd' ? (c.microbatches ? `defaults, ${c.microbatches} microbatches` : 'defaults') : `η = ${r.options.lr}`;
  const lines = [`mnist (tfjs, ${c.backend} backend): ${c.model === 'mlp' ? '784-256-128-10 MLP' : 'small CNN'}, d = ${r.d}, ${NAMES[run.algorithm]} (${how}), batch ${c.batchSize}, ${data.train.count} train / ${data.test.count} held-out digits`];
  for (const e of r.epochs) lines.push(`  epoch ${e.epoch}: held-out accuracy ${pct(e.accuracy)}, log-loss ${e.logLoss.toFixed(4)}, ${e.seconds.toFixed(1)} s`);
  const s = r.step;
  lines.push(`per step (medians): gradients ${s.evaluate.toFixed(2)} ms${s.probeEvaluate ? `, gradients at the probe point ${s.probeEvaluate.toFixed(2)} ms` : ''}, optimizer ${s.optimizer.toFixed(3)} ms`);
  console.log(lines.join('\n'));
}

/** The study as a markdown table: final and per-epoch held-out numbers, times. */
export function studyTable(r: TfStudyResult): string {
  const lines = ['| optimizer | η | accuracy by epoch (%) | final log-loss | s / epoch | step: gradients / optimizer (ms) |', '|---|---|---|---|---|---|'];
  for (const x of r.runs) {
    const a = x.options.algorithm;
    const accs = x.epochs.map((e) => (100 * e.accuracy).toFixed(2)).join(' ');
    const step = `${(x.step.evaluate + x.step.probeEvaluate).toFixed(1)} / ${x.step.optimizer.toFixed(2)}`;
    lines.push(`| ${NAMES[a]} | ${x.options.lr ?? '–'} | ${accs} | ${x.logLoss.toFixed(4)} | ${(x.seconds / x.epochs.length).toFixed(1)} | ${step} |`);
  }
  return lines.join('\n');
}
