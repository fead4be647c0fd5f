// A ReLU multilayer perceptron with softmax cross-entropy, written for per-sample gradients:
// a batch's forward and backward passes run into buffers sized once, and each sample's gradient
// is written straight into a caller's row (n × d, row-major), as vSGD-fd's rates need.
//
// θ layout, layer after layer: the weights input-major (W[i][j] at w + i·out + j, so that a zero
// input, frequent for MNIST pixels and ReLU units, skips or blanks one contiguous run), then the
// biases. Softmax probabilities are formed in double; activations and deltas are kept in double.
import { rng } from './random';

export interface Layer {
  inputs: number;
  outputs: number;
  /** offsets of the weights and of the biases in θ */
  w: number;
  b: number;
}

/** Inputs of a batch: rows of `width` floats in `data`, the k-th sample at data[index[k]·width]. */
export interface Inputs {
  data: Float32Array;
  labels: Uint8Array;
}

export class Mlp {
  readonly layers: Layer[];
  readonly d: number;
  /** activations per layer (batch × size); act[L] holds the softmax probabilities */
  readonly #act: Float64Array[];
  /** ∂loss/∂(pre-activation) per layer 1..L (index l−1) */
  readonly #delta: Float64Array[];
  #rows: ArrayLike<number> = [];
  #n = 0;
  #set: Inputs | null = null;

  constructor(readonly sizes: readonly number[], readonly batch: number) {
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) throw new RangeError(`Mlp: sizes must be at least two positive integers, got [${sizes.join(', ')}]`);
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`Mlp: batch must be a positive integer, got ${batch}`);
    let at = 0;
    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const [inputs, outputs] = [sizes[l], sizes[l + 1]];
      this.layers.push({ inputs, outputs, w: at, b: at + inputs * outputs });
      at += (inputs + 1) * outputs;
    }
    this.d = at;
    this.#act = sizes.map((s, l) => new Float64Array(l === 0 ? 0 : batch * s));
    this.#delta = sizes.slice(1).map((s) => new Float64Array(batch * s));
  }

  get classes(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** He-normal weights (variance 2/inputs), zero biases, from a seed. */
  init(theta: Float32Array, seed: number): void {
    const r = rng(seed);
    const z = new Float64Array(2);
    for (const L of this.layers) {
      const s = Math.sqrt(2 / L.inputs);
      for (let k = 0; k < L.inputs * L.outputs; k += 2) {
        r.normals(z);
        theta[L.w + k] = s * z[0];
        if (k + 1 < L.inputs * L.outputs) theta[L.w + k + 1] = s * z[1];
      }
      theta.fill(0, L.b, L.b + L.outputs);
    }
  }

  /** Forward pass of samples rows[0..n) of `set` at θ; returns the sum of their losses. */
  forward(theta: Float32Array, set: Inputs, rows: ArrayLike<number>, n: number): number {
    if (n > this.batch) throw new RangeError(`Mlp.forward: ${n} samples, more than the batch of ${this.batch}`);
    this.#set = set;
    this.#rows = rows;
    this.#n = n;
    const last = this.layers.length - 1;
    let loss = 0;
    for (let s = 0; s < n; s++) {
      for (let l = 0; l <= last; l++) {
        const L = this.layers[l];
        const src = this.#src(l), so = this.#at(l, s);
        const out = this.#act[l + 1];
        const o = s * L.outputs;
        for (let j = 0; j < L.outputs; j++) out[o + j] = theta[L.b + j];
        for (let i = 0; i < L.inputs; i++) {
          const x = src[so + i];
          if (x === 0) continue;
          const wi = L.w + i * L.outputs;
          for (let j = 0; j < L.outputs; j++) out[o + j] += x * theta[wi + j];
        }
        if (l < last) for (let j = 0; j < L.outputs; j++) out[o + j] = out[o + j] > 0 ? out[o + j] : 0;
      }
      loss += this.#softmax(s, set.labels[rows[s]]);
    }
    return loss;
  }

  /** Input of layer l: its array, and (#at) the offset of sample s's first entry there. */
  #src(l: number): ArrayLike<number> {
    return l > 0 ? this.#act[l] : (this.#set as Inputs).data;
  }
  #at(l: number, s: number): number {
    return (l > 0 ? s : this.#rows[s]) * this.sizes[l];
  }

  // logits → probabilities in place; the output delta p − onehot; returns −log p_y
  #softmax(s: number, y: number): number {
    const K = this.classes, p = this.#act[this.layers.length], o = s * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, p[o + k]);
    const zy = p[o + y] - max;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += p[o + k] = Math.exp(p[o + k] - max);
    const loss = Math.log(sum) - zy;
    const dl = this.#delta[this.layers.length - 1];
    for (let k = 0; k < K; k++) {
      p[o + k] /= sum;
      dl[o + k] = p[o + k] - (k === y ? 1 : 0);
    }
    return loss;
  }

  /** Backward pass of the last forward(): the deltas of every layer. */
  backward(theta: Float32Array): void {
    for (let l = this.layers.length - 1; l > 0; l--) {
      const next = this.layers[l], L = this.layers[l - 1];
      const up = this.#delta[l], dn = this.#delta[l - 1], act = this.#act[l];
      for (let s = 0; s < this.#n; s++) {
        const uo = s * next.outputs, o = s * L.outputs;
        for (let j = 0; j < L.outputs; j++) {
          if (act[o + j] <= 0) {
            dn[o + j] = 0;
            continue;
          }
          const wj = next.w + j * next.outputs;
          let z = 0;
          for (let k = 0; k < next.outputs; k++) z += theta[wj + k] * up[uo + k];
          dn[o + j] = z;
        }
      }
    }
  }

  /** The per-sample gradients of the last forward()/backward(): sample s into
   * out[offset + s·d, offset + (s+1)·d). Every entry is written. */
  rows(out: Float32Array, offset = 0): void {
    const d = this.d;
    for (let s = 0; s < this.#n; s++) {
      const row = offset + s * d;
      for (let l = 0; l < this.layers.length; l++) {
        const L = this.layers[l], src = this.#src(l), so = this.#at(l, s);
        const dl = this.#delta[l], o = s * L.outputs;
        for (let i = 0; i < L.inputs; i++) {
          const x = src[so + i], wi = row + L.w + i * L.outputs;
          if (x === 0) out.fill(0, wi, wi + L.outputs);
          else for (let j = 0; j < L.outputs; j++) out[wi + j] = x * dl[o + j];
        }
        for (let j = 0; j < L.outputs; j++) out[row + L.b + j] = dl[o + j];
      }
    }
  }

  /** The per-sample gradients of the last forward()/backward() as CSR rows of their non-zero
   * entries (a zero input or an inactive unit makes a whole run zero), into `out`'s buffers. */
  sparseRows(out: SparseGrads): void {
    let k = 0;
    if (out.offsets.length < this.#n + 1) out.offsets = new Int32Array(this.#n + 1);
    out.offsets[0] = 0;
    for (let s = 0; s < this.#n; s++) {
      for (let l = 0; l < this.layers.length; l++) {
        const L = this.layers[l], src = this.#src(l), so = this.#at(l, s);
        const dl = this.#delta[l], o = s * L.outputs;
        k = out.reserve(k, L.inputs * L.outputs + L.outputs);
        const { indices, values } = out;
        for (let i = 0; i < L.inputs; i++) {
          const x = src[so + i];
          if (x === 0) continue;
          const wi = L.w + i * L.outputs;
          for (let j = 0; j < L.outputs; j++) {
            if (dl[o + j] === 0) continue;
            indices[k] = wi + j;
            values[k++] = x * dl[o + j];
          }
        }
        for (let j = 0; j < L.outputs; j++) {
          if (dl[o + j] === 0) continue;
          indices[k] = L.b + j;
          values[k++] = dl[o + j];
        }
      }
      out.offsets[s + 1] = k;
    }
    out.n = this.#n;
  }

  /** The gradients of the last forward()/backward() at the entries `rows` names (the same
   * samples, in the same order), into rows.shifted. */
  sparseShifted(rows: SparseGrads): void {
    const { indices, offsets, shifted } = rows;
    for (let s = 0; s < this.#n; s++) {
      let k = offsets[s];
      const end = offsets[s + 1];
      for (let l = 0; l < this.layers.length; l++) {
        const L = this.layers[l], src = this.#src(l), so = this.#at(l, s);
        const dl = this.#delta[l], o = s * L.outputs, out = L.outputs;
        for (; k < end && indices[k] < L.b; k++) {
          const r = indices[k] - L.w, i = (r / out) | 0;
          shifted[k] = src[so + i] * dl[o + r - i * out];
        }
        for (; k < end && indices[k] < L.b + out; k++) shifted[k] = dl[o + indices[k] - L.b];
      }
    }
  }

  /** The sum over the samples of the last forward()/backward() of their gradients, into out (d). */
  sum(out: Float32Array | Float64Array): void {
    out.fill(0);
    for (let s = 0; s < this.#n; s++) {
      for (let l = 0; l < this.layers.length; l++) {
        const L = this.layers[l], src = this.#src(l), so = this.#at(l, s);
        const dl = this.#delta[l], o = s * L.outputs;
        for (let i = 0; i < L.inputs; i++) {
          const x = src[so + i];
          if (x === 0) continue;
          const wi = L.w + i * L.outputs;
          for (let j = 0; j < L.outputs; j++) out[wi + j] += x * dl[o + j];
        }
        for (let j = 0; j < L.outputs; j++) out[L.b + j] += dl[o + j];
      }
    }
  }

  /** Predicted class of sample s of the last forward(). */
  predicted(s: number): number {
    const K = this.classes, p = this.#act[this.layers.length], o = s * K;
    let best = 0;
    for (let k = 1; k < K; k++) if (p[o + k] > p[o + best]) best = k;
    return best;
  }

  /** Accuracy and mean loss on the first `count` samples of a set (all by default). */
  evaluate(theta: Float32Array, set: Inputs, count = set.labels.length): { accuracy: number; logLoss: number } {
    const idx = new Int32Array(this.batch);
    let loss = 0, right = 0;
    for (let start = 0; start < count; start += this.batch) {
      const n = Math.min(this.batch, count - start);
      for (let s = 0; s < n; s++) idx[s] = start + s;
      loss += this.forward(theta, set, idx, n);
      for (let s = 0; s < n; s++) right += this.predicted(s) === set.labels[start + s] ? 1 : 0;
    }
    return { accuracy: right / count, logLoss: loss / count };
  }

  /** The diagonal of the per-sample Hessians of the last forward(), summed over its samples into
   * `sum` (d), and the number of samples whose gradient entry is non-zero into `active` (d), with
   * `hActive` (d) the sum over those samples only. For a ReLU network the Hessian is the
   * Gauss-Newton matrix J^T (diag(p) − p p^T) J almost everywhere, so its diagonal at a weight
   * from input i to unit j is x_i² · (Σ_a p_a B_aj² − (Σ_a p_a B_aj)²), B_a the backward pass of
   * logit a: K backward passes of the deltas only. */
  diagonalHessian(theta: Float32Array, sum: Float64Array, active: Float64Array, hActive: Float64Array): void {
    const K = this.classes, nl = this.layers.length;
    const probs = this.#act[nl];
    const B = this.sizes.slice(1).map((s) => new Float64Array(K * s)); // B[l][a·size + j]
    const S = this.sizes.slice(1).map((s) => new Float64Array(s));
    for (let s = 0; s < this.#n; s++) {
      const p = probs.subarray(s * K, (s + 1) * K);
      B[nl - 1].fill(0);
      for (let a = 0; a < K; a++) B[nl - 1][a * K + a] = 1;
      for (let l = nl - 1; l > 0; l--) {
        const next = this.layers[l], L = this.layers[l - 1], act = this.#act[l];
        for (let a = 0; a < K; a++) {
          for (let j = 0; j < L.outputs; j++) {
            if (act[s * L.outputs + j] <= 0) {
              B[l - 1][a * L.outputs + j] = 0;
              continue;
            }
            const wj = next.w + j * next.outputs;
            let z = 0;
            for (let k = 0; k < next.outputs; k++) z += theta[wj + k] * B[l][a * next.outputs + k];
            B[l - 1][a * L.outputs + j] = z;
          }
        }
      }
      for (let l = 0; l < nl; l++) {
        const m = this.layers[l].outputs;
        for (let j = 0; j < m; j++) {
          let e2 = 0, e1 = 0;
          for (let a = 0; a < K; a++) {
            const b = B[l][a * m + j];
            e2 += p[a] * b * b;
            e1 += p[a] * b;
          }
          S[l][j] = e2 - e1 * e1;
        }
      }
      this.layers.forEach((L, l) => {
        const src = this.#src(l), so = this.#at(l, s);
        const dl = this.#delta[l], o = s * L.outputs, sl = S[l];
        const put = (k: number, x2: number, j: number) => {
          const h = x2 * sl[j];
          sum[k] += h;
          if (dl[o + j] !== 0) {
            active[k]++;
            hActive[k] += h;
          }
        };
        for (let i = 0; i < L.inputs; i++) {
          const x = src[so + i];
          if (x === 0) continue;
          for (let j = 0; j < L.outputs; j++) put(L.w + i * L.outputs + j, x * x, j);
        }
        for (let j = 0; j < L.outputs; j++) put(L.b + j, 1, j);
      });
    }
  }
}

/** CSR rows of per-sample gradients on buffers that grow as needed (never per sample). */
export class SparseGrads {
  offsets: Int32Array;
  indices = new Int32Array(1 << 16);
  values = new Float32Array(1 << 16);
  shifted = new Float32Array(1 << 16);
  n = 0;

  constructor(batch = 1) {
    this.offsets = new Int32Array(batch + 1);
  }

  get nnz(): number {
    return this.offsets[this.n];
  }

  /** room for `more` entries after the first k (keeping those); returns k */
  reserve(k: number, more: number): number {
    if (k + more > this.indices.length) {
      const cap = Math.max(2 * this.indices.length, k + more);
      const grow = <T extends Int32Array | Float32Array>(a: T, make: (c: number) => T) => {
        const b = make(cap);
        b.set(a.subarray(0, k));
        return b;
      };
      this.indices = grow(this.indices, (c) => new Int32Array(c));
      this.values = grow(this.values, (c) => new Float32Array(c));
      this.shifted = new Float32Array(cap);
    }
    return k;
  }

  /** views for VSGDfd.updateSparse / probeSparse */
  view(withShifted: boolean): { offsets: Int32Array; indices: Int32Array; values: Float32Array; shifted?: Float32Array } {
    const nnz = this.nnz;
    const v = { offsets: this.offsets.subarray(0, this.n + 1), indices: this.indices.subarray(0, nnz), values: this.values.subarray(0, nnz) };
    return withShifted ? { ...v, shifted: this.shifted.subarray(0, nnz) } : v;
  }
}
