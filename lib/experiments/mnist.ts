// A ReLU MLP on MNIST (lib/problems/mlp.ts) trained by vSGD-fd or a baseline, with the same
// initial weights and sample order for every optimizer. vSGD-fd gets per-sample gradient rows:
// CSR rows of their non-zero entries under sparse rates ('instance', 'global'; the same numbers
// as dense rows there, at a fraction of the cost), dense rows otherwise. The baselines only use
// the minibatch mean, so they get it as one row (the same update as its n rows).
import { type Optimizer, VSGDfd, type VSGDfdOptions } from '../index';
import { mpiStatus } from '../mpi';
import { baseline } from './baseline';
import { type MnistData } from '../data/mnist';
import { Mlp, SparseGrads } from '../problems/mlp';
import { rng } from '../problems/random';
import { pacer } from './elementary';

export const MNIST_ALGOS = ['vsgdfd', 'sgd', 'momentum', 'adagrad', 'adam'] as const;
export type MnistAlgo = (typeof MNIST_ALGOS)[number];

export interface MnistTrainOptions {
  algorithm: MnistAlgo;
  /** hidden layer sizes (default [256, 128]) */
  hidden?: number[];
  minibatch: number;
  epochs: number;
  /** sample order */
  seed: number;
  /** initial weights (default 1) */
  initSeed?: number;
  /** training digits used, from the start of the set (default: all loaded) */
  trainSize?: number;
  /** baselines' η₀ (momentum: the rate of the heavy-ball step) */
  lr?: number;
  /** momentum's μ (default 0.9) */
  momentum?: number;
  /** vSGD-fd options (defaults otherwise) */
  vsgd?: Omit<VSGDfdOptions, 'minibatch' | 'threads'>;
  /** vSGD-fd: evaluate the shifted gradients at θ + z⊙δ with random signs z (an experiment
   * on top of the optimizer's probe point θ + δ; the finite difference uses |δ| either way) */
  signs?: boolean;
  /** vSGD-fd with sparse rates: pass dense n × d rows instead of the CSR rows of their non-zero
   * entries (the same numbers, more slowly; for tests) */
  denseRows?: boolean;
  /** vSGD-fd: every step is multiplied by this (an experiment: how far the rates are off) */
  rateScale?: number;
  /** held-out evaluations per epoch (default 4) */
  evalsPerEpoch?: number;
  /** vSGD-fd: per-layer diagnostics at the end */
  diagnose?: boolean;
  threads?: number;
  /** 'mpi': this process is one rank of an MPI job (docs/distributed.md). Every rank draws the
   * same sample stream; a step takes `minibatch` samples per rank, consecutive in the stream, and
   * each rank computes the gradients of its own share only. */
  comm?: 'mpi';
}

export interface Eval { accuracy: number; logLoss: number }

export interface LayerDiagnostics {
  /** 'W1', 'b1', ... */
  name: string;
  size: number;
  /** coordinates still bootstrapping, and those that never had a non-zero gradient entry */
  bootstrapping: number;
  /** medians over the coordinates past bootstrap */
  eta: number;
  gradientSnr: number;
  curvatureSteadiness: number;
  /** median of h over the diagonal Hessian (averaged over the same samples as h: all of them
   * under dense rates, the ones with a non-zero gradient entry under sparse rates) */
  curvatureRatio: number;
  /** median |η·g|: the size of a step */
  step: number;
  /** median memory τ (steps) */
  memory: number;
  /** 10th and 90th percentile of η */
  etaLow: number;
  etaHigh: number;
}

export interface MnistResult extends Eval {
  algorithm: MnistAlgo;
  sizes: number[];
  minibatch: number;
  epochs: number;
  seed: number;
  lr?: number;
  vsgd?: Record<string, unknown>;
  signs?: boolean;
  d: number;
  samples: number;
  /** MPI ranks that shared each step (1 without MPI): a step took minibatch × ranks samples */
  ranks: number;
  seconds: number;
  /** [epochs done, held-out log-loss, held-out accuracy] */
  curve: [number, number, number][];
  /** on the first 10,000 training digits (or all used, if fewer) */
  train: Eval;
  diagnostics?: LayerDiagnostics[];
}

/** A hash of (t, i) to ±1: the random signs of the probe, the same on every run. */
export function probeSign(t: number, i: number): number {
  let h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(t + 0x27d4eb2f, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) & 1 ? -1 : 1;
}

function make(o: MnistTrainOptions, theta: Float32Array): Optimizer | null {
  const common = { minibatch: o.minibatch, threads: o.threads ?? 1, ...(o.comm ? { comm: o.comm } : {}) };
  switch (o.algorithm) {
    case 'vsgdfd':
      return new VSGDfd(theta, { ...o.vsgd, ...common });
    case 'momentum':
      if (o.comm) throw new Error("mnist: momentum is a loop of this file, not an optimizer of the library; it takes no comm 'mpi'");
      return null;
    default:
      return baseline(o.algorithm, theta, { lr: o.lr, ...common });
  }
}

const quantile = (xs: Float64Array | number[], q: number) => {
  const s = Float64Array.from(xs).filter(Number.isFinite).sort();
  return s.length ? s[Math.round((s.length - 1) * q)] : NaN;
};
const median = (xs: Float64Array | number[]) => quantile(xs, 0.5);

/** The seeded stream of sample indices: a fresh Fisher-Yates shuffle each epoch. */
function order(N: number, seed: number): () => number {
  const r = rng(seed);
  const perm = new Int32Array(N);
  let pos = N;
  return () => {
    if (pos === N) {
      for (let k = 0; k < N; k++) perm[k] = k;
      for (let k = N - 1; k > 0; k--) {
        const j = Math.floor(r.uniform() * (k + 1));
        const t = perm[k];
        perm[k] = perm[j];
        perm[j] = t;
      }
      pos = 0;
    }
    return perm[pos++];
  };
}

/** Trains from the seeded initial weights for `epochs` passes over the training digits. */
export async function train(data: MnistData, o: MnistTrainOptions, progress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<MnistResult> {
  const start = performance.now();
  const sizes = [data.d, ...(o.hidden ?? [256, 128]), 10];
  const n = o.minibatch;
  const N = Math.min(o.trainSize ?? data.train.count, data.train.count);
  const trainSet = { data: data.train.images, labels: data.train.labels };
  const testSet = { data: data.test.images, labels: data.test.labels };
  const mlp = new Mlp(sizes, Math.max(n, 500));
  const d = mlp.d;
  const theta = new Float32Array(d);
  mlp.init(theta, o.initSeed ?? 1);
  const opt = make(o, theta);
  const { rank, size } = o.comm === 'mpi' ? mpiStatus() : { rank: 0, size: 1 };
  const vs = o.algorithm === 'vsgdfd' ? (opt as VSGDfd) : null;
  const sparse = vs !== null && (vs.options.sparsity as string) !== 'none' && !o.denseRows;
  const csr = sparse ? new SparseGrads(n) : null;
  const rows = vs && !sparse ? vs.rowBuffers() : null;
  const mean = vs ? null : new Float32Array(d);
  const momentum = o.algorithm === 'momentum' ? new Float64Array(d) : null;
  const signed = o.signs ? new Float32Array(d) : null;
  const scale = o.rateScale ?? 1, before = scale !== 1 ? new Float32Array(d) : null;
  const next = order(N, o.seed);
  const idx = new Int32Array(n);
  const steps = Math.max(1, Math.round((o.epochs * N) / (n * size)));
  const evals = o.evalsPerEpoch ?? 4;
  const curve: [number, number, number][] = [];
  let nextEval = 1;
  let diagnostics: LayerDiagnostics[] | undefined;
  const withSigns = (at: Float32Array, t: number) => {
    if (!signed) return at;
    for (let i = 0; i < d; i++) signed[i] = probeSign(t, i) < 0 ? theta[i] - (at[i] - theta[i]) : at[i];
    return signed;
  };
  const pause = pacer(progress, signal, 200);
  try {
    for (let t = 0; t < steps; t++) {
      for (let s = 0; s < n * size; s++) { // this rank's share of the step's n × size samples
        const k = next();
        if (s >= rank * n && s < (rank + 1) * n) idx[s - rank * n] = k;
      }
      mlp.forward(theta, trainSet, idx, n);
      mlp.backward(theta);
      before?.set(theta);
      if (csr && vs) {
        mlp.sparseRows(csr);
        if (vs.needsCurvature) {
          const at = withSigns(vs.probeSparse(csr.view(false)), t);
          mlp.forward(at, trainSet, idx, n);
          mlp.backward(at);
          mlp.sparseShifted(csr);
          vs.updateSparse(csr.view(true));
        } else vs.updateSparse(csr.view(false));
      } else if (rows && vs) {
        mlp.rows(rows.grads);
        if (vs.needsCurvature) {
          const at = withSigns(vs.probe(rows.grads), t);
          mlp.forward(at, trainSet, idx, n);
          mlp.backward(at);
          mlp.rows(rows.extra as Float32Array);
          vs.update(rows.grads, rows.extra);
        } else vs.update(rows.grads);
      } else {
        const g = mean as Float32Array;
        mlp.sum(g);
        for (let i = 0; i < d; i++) g[i] /= n;
        if (momentum) {
          const lr = o.lr ?? 0.01, mu = o.momentum ?? 0.9;
          for (let i = 0; i < d; i++) theta[i] -= lr * (momentum[i] = mu * momentum[i] + g[i]);
        } else (opt as Optimizer).update(g);
      }
      if (before) for (let i = 0; i < d; i++) theta[i] = before[i] + scale * (theta[i] - before[i]);
      const epochs = ((t + 1) * n * size) / N;
      if (epochs * evals >= nextEval || t === steps - 1) {
        while (nextEval <= epochs * evals) nextEval++;
        const e = mlp.evaluate(theta, testSet);
        curve.push([epochs, e.logLoss, e.accuracy]);
        if (!Number.isFinite(e.logLoss)) break;
      }
      await pause(t + 1, steps);
    }
    progress?.(steps, steps);
    if (vs && o.diagnose) diagnostics = diagnose(vs, mlp, theta, trainSet, Math.min(N, 1000), sparse);
  } finally {
    opt?.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  const e = mlp.evaluate(theta, testSet);
  const tr = mlp.evaluate(theta, trainSet, Math.min(N, 10000));
  return {
    algorithm: o.algorithm, sizes, minibatch: n, epochs: o.epochs, seed: o.seed,
    ...(vs ? { vsgd: { ...o.vsgd }, signs: !!o.signs } : { lr: o.lr }),
    d, samples: steps * n * size, ranks: size, seconds, ...e, curve, train: tr, ...(diagnostics ? { diagnostics } : {}),
  };
}

/** Per-layer medians of the rates and the statistics behind them, and of h against the diagonal
 * Hessian over the first `count` training digits at the final θ. */
function diagnose(opt: VSGDfd, mlp: Mlp, theta: Float32Array, set: { data: Float32Array; labels: Uint8Array }, count: number, sparse: boolean): LayerDiagnostics[] {
  const d = mlp.d;
  const sum = new Float64Array(d), active = new Float64Array(d), hActive = new Float64Array(d);
  const idx = new Int32Array(mlp.batch);
  for (let start = 0; start < count; start += mlp.batch) {
    const n = Math.min(mlp.batch, count - start);
    for (let s = 0; s < n; s++) idx[s] = start + s;
    mlp.forward(theta, set, idx, n);
    mlp.backward(theta);
    mlp.diagonalHessian(theta, sum, active, hActive);
  }
  const { tau, eta, g, v, h, vh } = opt.state;
  const out: LayerDiagnostics[] = [];
  mlp.layers.forEach((L, l) => {
    for (const [name, from, size] of [[`W${l + 1}`, L.w, L.inputs * L.outputs], [`b${l + 1}`, L.b, L.outputs]] as const) {
      const moving: number[] = [];
      let boot = 0;
      for (let i = from; i < from + size; i++) {
        if (tau[i] > 0) moving.push(i);
        else boot++;
      }
      const hess = (i: number) => (sparse ? hActive[i] / active[i] : sum[i] / count);
      out.push({
        name, size, bootstrapping: boot,
        eta: median(moving.map((i) => eta[i])),
        gradientSnr: median(moving.map((i) => (g[i] * g[i]) / v[i])),
        curvatureSteadiness: median(moving.map((i) => (h[i] * h[i]) / vh[i])),
        curvatureRatio: median(moving.map((i) => h[i] / hess(i))),
        step: median(moving.map((i) => Math.abs(eta[i] * g[i]))),
        memory: median(moving.map((i) => tau[i])),
        etaLow: quantile(moving.map((i) => eta[i]), 0.1),
        etaHigh: quantile(moving.map((i) => eta[i]), 0.9),
      });
    }
  });
  return out;
}
