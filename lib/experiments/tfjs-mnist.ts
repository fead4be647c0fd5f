// MNIST with TensorFlow.js (docs/tfjs.md): a tf.LayersModel trained by fitDataset() with
// vsgd-fd/tfjs's VSGDfdOptimizer or with tfjs's own Adam or SGD with momentum, from the same
// initial weights in the same batch order; held-out accuracy and log-loss after every epoch, and
// where the time of a step goes. The comparison and the command are in tfjs-study.ts.
import * as tf from '@tensorflow/tfjs';
import { type MnistData, type MnistSet } from '../data/mnist';
import type { VSGDfdState } from '../index';
import { optional } from '../optional';
import { rng } from '../problems/random';
import { VSGDfdOptimizer } from '../tfjs';
import { Interrupted } from './elementary';

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
  /** vSGD-fd: the method (default: the library's) */
  variant?: 'signed' | 'paper';
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
  if (name === 'wasm') optional('@tensorflow/tfjs-backend-wasm', "tfjs's wasm backend"); // registers it
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
  if (o.algorithm === 'vsgdfd') return new VSGDfdOptimizer({ ...(o.microbatches ? { microbatches: o.microbatches } : {}), ...(o.variant ? { variant: o.variant } : {}) });
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
  const st = (opt.native as NonNullable<VSGDfdOptimizer['native']>).state as VSGDfdState;
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

/** warm-up steps (and vSGD-fd's bootstrap) left out of the step timings */
export const SKIP = 20;

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
