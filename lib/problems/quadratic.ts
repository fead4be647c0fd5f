// The idealized problem of the paper's Section 2, used for Figures 1 and 2: d independent
// coordinates, each with sample loss (h/2)(θ − ξ)², ξ ~ N(0, σ²). With density p < 1 a sample
// touches a coordinate only with probability p, and its gradient entry is 0 otherwise.
import type { Rng } from './random';

export interface QuadraticOptions {
  /** curvature h (default 1) */
  h?: number;
  /** σ², the variance of ξ */
  noise: number;
  /** p, the probability that a sample's gradient entry is non-zero (default 1: dense) */
  density?: number;
}

export class NoisyQuadratic {
  readonly h: number;
  readonly noise: number;
  readonly density: number;
  #z = new Float64Array(0);

  constructor(readonly d: number, o: QuadraticOptions) {
    this.h = o.h ?? 1;
    this.noise = o.noise;
    this.density = o.density ?? 1;
    if (!(this.h > 0 && this.noise >= 0 && this.density > 0 && this.density <= 1)) {
      throw new RangeError('NoisyQuadratic: needs h > 0, noise >= 0 and 0 < density <= 1');
    }
  }

  /** n per-sample gradient rows at `at` (row-major, n x d); zero where a sample misses a coordinate */
  gradRows(at: ArrayLike<number>, n: number, r: Rng, out: Float32Array | Float64Array): void {
    const size = n * this.d;
    if (this.#z.length < size) this.#z = new Float64Array(size);
    const z = this.#z.subarray(0, size);
    r.normals(z);
    const s = Math.sqrt(this.noise);
    const p = this.density;
    for (let j = 0; j < n; j++) {
      const row = j * this.d;
      for (let i = 0; i < this.d; i++) {
        const hit = p >= 1 || r.uniform() < p;
        out[row + i] = hit ? this.h * (at[i] - s * z[row + i]) : 0;
      }
    }
  }

  /** expected loss above its minimum, averaged over coordinates: p·(h/2)·mean θ² */
  excess(theta: ArrayLike<number>): number {
    let sum = 0;
    for (let i = 0; i < this.d; i++) sum += theta[i] * theta[i];
    return (this.density * this.h * sum) / (2 * this.d);
  }
}
