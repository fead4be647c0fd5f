// Logistic regression on the hashed SpamAssassin rows (lib/problems/spam.ts) with per-sample
// gradients (p − y)·x. vSGD-fd with sparse rates takes CSR rows (updateSparse/probeSparse, O(nnz)
// per step); vSGD-fd with sparsity 'none' and the baselines, which exist only as dense native
// optimizers, take dense n × d rows, so their runs use a smaller hash (docs/spam.md).
import { AdaGrad, Adam, type Optimizer, SGD, type SparseRows, VSGDfd, type VSGDfdOptions } from '../index';
import { type SpamData, type SpamSet } from '../problems/spam';
import { rng } from '../problems/random';

export const SPAM_ALGOS = ['vsgdfd', 'sgd', 'adagrad', 'adam'] as const;
export type SpamAlgo = (typeof SPAM_ALGOS)[number];

export interface TrainOptions {
  algorithm: SpamAlgo;
  minibatch: number;
  epochs: number;
  /** sample order */
  seed: number;
  /** vSGD-fd: 'instance' and 'global' step on sparse rows, 'none' on dense rows */
  sparsity?: 'none' | 'instance' | 'global';
  /** baselines' η₀ */
  lr?: number;
  /** more vSGD-fd options (defaults otherwise) */
  vsgd?: Omit<VSGDfdOptions, 'minibatch' | 'sparsity'>;
  /** held-out evaluation every this many samples (0: at the end only) */
  evalEvery?: number;
  /** vSGD-fd's shifted values: 'joint' (default) evaluates each row at the probe point, which
   * moves all its coordinates at once; 'diagonal' moves only the entry's own coordinate (a
   * per-coordinate finite difference, same cost here since z is known; not the paper's method) */
  probe?: 'joint' | 'diagonal';
  /** stop at the first evaluation with held-out log-loss at most this */
  target?: number;
  threads?: number;
}

export interface Eval { accuracy: number; logLoss: number }

export interface TrainResult extends Eval {
  algorithm: SpamAlgo;
  minibatch: number;
  sparsity?: string;
  lr?: number;
  d: number;
  samples: number;
  steps: number;
  seconds: number;
  /** [samples seen, held-out log-loss, held-out accuracy] */
  curve: [number, number, number][];
  /** samples seen at the first evaluation that reached `target` (null: never) */
  samplesToTarget: number | null;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
// −log σ(±z), without overflow
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

function dot(s: SpamSet, j: number, w: Float32Array): number {
  let z = 0;
  for (let k = s.offsets[j]; k < s.offsets[j + 1]; k++) z += w[s.indices[k]] * s.values[k];
  return z;
}

/** Held-out accuracy (threshold 1/2) and mean log-loss of the weights w. */
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
  const threads = o.threads ?? 1;
  switch (o.algorithm) {
    case 'vsgdfd':
      return new VSGDfd(theta, { ...o.vsgd, minibatch: o.minibatch, sparsity: o.sparsity ?? 'instance', threads });
    case 'sgd':
      return new SGD(theta, { lr: o.lr, minibatch: o.minibatch, threads });
    case 'adagrad':
      return new AdaGrad(theta, { lr: o.lr, minibatch: o.minibatch, threads });
    case 'adam':
      return new Adam(theta, { lr: o.lr, minibatch: o.minibatch, threads });
  }
}

/** The gradient rows of a minibatch at a point, as CSR views on reused buffers. */
class Batch {
  readonly offsets: Int32Array;
  #indices = new Int32Array(1024);
  #values = new Float32Array(1024);
  #shifted = new Float32Array(1024);
  rows: number[] = [];

  constructor(readonly s: SpamSet, n: number) {
    this.offsets = new Int32Array(n + 1);
  }

  /** rows `rows` of the set; values (p − y)·x at w */
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
    const n = rows.length;
    return { offsets: this.offsets.subarray(0, n + 1), indices: this.#indices.subarray(0, nnz), values: this.#values.subarray(0, nnz) };
  }

  /** the same entries at another point (the probe) */
  shifted(at: Float32Array, w: Float32Array, diagonal = false): Float32Array {
    if (diagonal) this.#diagonal(at, w, this.#shifted);
    else this.#scale(at, this.#shifted);
    return this.#shifted.subarray(0, this.offsets[this.rows.length]);
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

  #scale(w: Float32Array, out: Float32Array): void {
    const s = this.s;
    this.rows.forEach((j, r) => {
      const e = sigmoid(dot(s, j, w)) - s.labels[j];
      for (let k = s.offsets[j], o = this.offsets[r]; k < s.offsets[j + 1]; k++, o++) out[o] = e * s.values[k];
    });
  }
}

/** CSR rows written into zeroed n × d dense rows, and zeroed again afterwards (O(nnz)). */
function scatter(rows: SparseRows, values: Float32Array, d: number, out: Float32Array): () => void {
  const n = rows.offsets.length - 1;
  for (let r = 0; r < n; r++) {
    for (let k = rows.offsets[r]; k < rows.offsets[r + 1]; k++) out[r * d + rows.indices[k]] = values[k];
  }
  return () => {
    for (let r = 0; r < n; r++) {
      for (let k = rows.offsets[r]; k < rows.offsets[r + 1]; k++) out[r * d + rows.indices[k]] = 0;
    }
  };
}

export class Interrupted extends Error {}

/** Trains from θ = 0 for `epochs` passes (fresh seeded shuffle each), minibatches of
 * `minibatch` consecutive samples of that stream. */
export function train(data: SpamData, o: TrainOptions, progress?: (done: number, total: number) => void, signal?: AbortSignal): TrainResult {
  const start = performance.now();
  const { d, train: set, test } = data;
  const N = set.labels.length;
  const n = o.minibatch;
  const theta = new Float32Array(d);
  const opt = make(o, theta);
  const sparse = o.algorithm === 'vsgdfd' && (o.sparsity ?? 'instance') !== 'none';
  const dense = sparse ? null : { grads: new Float32Array(n * d), shifted: new Float32Array(n * d) };
  const batch = new Batch(set, n);
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
  const steps = Math.max(1, Math.floor((o.epochs * N) / n));
  const every = o.evalEvery ?? 0;
  const curve: [number, number, number][] = [];
  let samplesToTarget: number | null = null;
  let nextEval = every > 0 ? every : Infinity;
  let samples = 0;
  let done = 0;
  try {
    for (let t = 0; t < steps; t++) {
      const rows = batch.fill(Array.from({ length: n }, next), theta);
      if (sparse) {
        if (opt.needsCurvature) {
          const at = (opt as VSGDfd).probeSparse(rows);
          opt.updateSparse({ ...rows, shifted: batch.shifted(at, theta, o.probe === 'diagonal') });
        } else opt.updateSparse(rows);
      } else {
        const { grads, shifted } = dense as { grads: Float32Array; shifted: Float32Array };
        const clear = scatter(rows, rows.values, d, grads);
        if (opt.needsCurvature) {
          const at = (opt as VSGDfd).probe(grads);
          const clear2 = scatter(rows, batch.shifted(at, theta, o.probe === 'diagonal'), d, shifted);
          opt.update(grads, shifted);
          clear2();
        } else opt.update(grads);
        clear();
      }
      samples += n;
      done = t + 1;
      if (samples >= nextEval) {
        nextEval += every * Math.ceil((samples - nextEval + 1) / every);
        const e = evaluate(test, theta);
        curve.push([samples, e.logLoss, e.accuracy]);
        if (o.target !== undefined && e.logLoss <= o.target) {
          samplesToTarget = samples;
          break;
        }
        if (!Number.isFinite(e.logLoss)) break;
      }
      if (progress && (t % 64 === 63 || t === steps - 1)) progress(t + 1, steps);
      if (signal?.aborted) throw new Interrupted();
    }
  } finally {
    opt.dispose();
  }
  const e = evaluate(test, theta);
  return {
    algorithm: o.algorithm, minibatch: n, ...(o.algorithm === 'vsgdfd' ? { sparsity: o.sparsity ?? 'instance' } : { lr: o.lr }),
    d, samples, steps: done, seconds: (performance.now() - start) / 1000, ...e, curve, samplesToTarget,
  };
}
