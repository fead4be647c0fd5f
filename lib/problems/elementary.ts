// The paper's elementary test suite (Schaul & LeCun 2013, Section 6): four 1-D
// sample losses f(θ; ξ) with ξ ~ N(0, σ²), each scaled by A, as docs/experiments.md states them.

export type LossName = 'quad' | 'abs' | 'rectlin' | 'gauss';

export const LOSSES: readonly LossName[] = ['quad', 'abs', 'rectlin', 'gauss'];
export const SCALES: readonly number[] = [0.1, 1, 10]; // curvature scale A
export const NOISES: readonly number[] = [0.1, 1, 10]; // noise variance σ²

export interface Case {
  loss: LossName;
  A: number;
  noise: number; // σ², the variance of ξ
}

/** All 36 cases, loss-major, then A, then σ² (the layout of the paper's figures). */
export function cases(): Case[] {
  const out: Case[] = [];
  for (const loss of LOSSES) {
    for (const A of SCALES) {
      for (const noise of NOISES) out.push({ loss, A, noise });
    }
  }
  return out;
}

/** Loss of one sample, f(θ; ξ). */
export function sampleLoss(c: Case, theta: number, xi: number): number {
  const r = theta - xi;
  switch (c.loss) {
    case 'quad':
      return c.A * r * r;
    case 'abs':
      return c.A * Math.abs(r);
    case 'rectlin':
      return r > 0 ? c.A * r : 0;
    case 'gauss':
      return c.A * (1 - Math.exp(-0.5 * r * r));
  }
}

/** Gradient of one sample's loss with respect to θ (at the kinks: sign(0) = 0, rectlin 0). */
export function sampleGrad(c: Case, theta: number, xi: number): number {
  const r = theta - xi;
  switch (c.loss) {
    case 'quad':
      return 2 * c.A * r;
    case 'abs':
      return r > 0 ? c.A : r < 0 ? -c.A : 0;
    case 'rectlin':
      return r > 0 ? c.A : 0;
    case 'gauss':
      return c.A * r * Math.exp(-0.5 * r * r);
  }
}

/**
 * Second derivative of one sample's loss (what vSGD's "bbprop" curvature rows carry):
 * quad 2A, abs and rectlin 0 (away from the kink, and taken as 0 at it), gauss
 * A(1 − r²)e^{−r²/2}, which is negative for |r| > 1. The signed value is returned; vSGD
 * averages its absolute value (docs/algorithm.md), so the sign is the optimizer's business.
 */
export function sampleCurvature(c: Case, theta: number, xi: number): number {
  const r = theta - xi;
  switch (c.loss) {
    case 'quad':
      return 2 * c.A;
    case 'abs':
    case 'rectlin':
      return 0;
    case 'gauss':
      return c.A * (1 - r * r) * Math.exp(-0.5 * r * r);
  }
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Standard normal density φ. */
function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/**
 * E_ξ[f(θ; ξ)] minus its infimum over θ, in closed form (docs/experiments.md). The constant σ²
 * term of quad cancels; rectlin's infimum is 0 (approached as θ → −∞).
 */
export function expectedExcess(c: Case, theta: number): number {
  const s = Math.sqrt(c.noise);
  switch (c.loss) {
    case 'quad':
      return c.A * theta * theta;
    case 'abs':
      // E|θ−ξ| = s√(2/π)e^{−θ²/2s²} + θ(1 − 2Φ(−θ/s)); its minimum (θ = 0) is s√(2/π).
      return (
        c.A *
        (s * SQRT_2_OVER_PI * Math.exp(-(theta * theta) / (2 * s * s)) +
          theta * (1 - 2 * normalCdf(-theta / s)) -
          s * SQRT_2_OVER_PI)
      );
    case 'rectlin':
      return c.A * (theta * normalCdf(theta / s) + s * normalPdf(theta / s));
    case 'gauss': {
      // The Gaussian bump convolved with N(0, s²) is a wider, lower bump.
      const v = 1 + s * s;
      return (c.A / Math.sqrt(v)) * (1 - Math.exp(-(theta * theta) / (2 * v)));
    }
  }
}

/**
 * Per-sample gradients of a d-coordinate problem: coordinate i is an independent run
 * at position at[i], and row j holds the j-th of its n samples. Fills
 * out[j*d + i] = sampleGrad(c, at[i], xi[j*d + i]).
 */
export function gradRows(
  c: Case,
  at: ArrayLike<number>,
  xi: ArrayLike<number>,
  n: number,
  d: number,
  out: Float32Array,
): void {
  if (at.length < d || xi.length < n * d || out.length < n * d) {
    throw new RangeError('gradRows: arrays shorter than n*d (or d for at)');
  }
  for (let j = 0; j < n; j++) {
    const row = j * d;
    for (let i = 0; i < d; i++) out[row + i] = sampleGrad(c, at[i], xi[row + i]);
  }
}

/**
 * Complementary error function for x ≥ 0, to near double precision.
 * Small x: erf's series  erf(x) = (2/√π) e^{−x²} Σ_k 2^k x^{2k+1} / (1·3·…·(2k+1)),
 * whose terms are all positive, so nothing cancels. Large x: the continued fraction
 * erfc(x) = (e^{−x²}/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))),
 * evaluated from the tail, which keeps relative accuracy in the far tail.
 */
function erfcNonNeg(x: number): number {
  const ex2 = Math.exp(-x * x);
  if (x < 2.5) {
    let term = x;
    let sum = x;
    for (let k = 1; k < 200; k++) {
      term *= (2 * x * x) / (2 * k + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * ex2 * sum;
  }
  let f = x; // 60 levels is far more than x ≥ 2.5 needs for double precision
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return ex2 / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF Φ(x) = erfc(−x/√2)/2. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x) / Math.SQRT2;
  const tail = 0.5 * erfcNonNeg(z); // = Φ(−|x|)
  return x >= 0 ? 1 - tail : tail;
}

/**
 * Several cases side by side, `runs` coordinates each: coordinate i is run i % runs of
 * cases[floor(i / runs)]. Samples come as standard normals z (n rows of d) and are scaled by
 * each case's σ, so one array of z serves every case and every optimizer that should see the
 * same samples. The loops are written per loss so that the hot path has no switch in it.
 */
export class CaseBlocks {
  readonly d: number;

  constructor(readonly cases: readonly Case[], readonly runs: number) {
    if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`CaseBlocks: runs must be a positive integer, got ${runs}`);
    this.d = cases.length * runs;
  }

  /** out[j*d + i] = sampleGrad at at[i] with ξ = σ·z[j*d + i] */
  grads(at: ArrayLike<number>, z: ArrayLike<number>, n: number, out: Float32Array): void {
    this.#each(n, (c, s, lo, hi, row) => {
      const A = c.A;
      switch (c.loss) {
        case 'quad':
          for (let i = lo; i < hi; i++) out[row + i] = 2 * A * (at[i] - s * z[row + i]);
          break;
        case 'abs':
          for (let i = lo; i < hi; i++) {
            const r = at[i] - s * z[row + i];
            out[row + i] = r > 0 ? A : r < 0 ? -A : 0;
          }
          break;
        case 'rectlin':
          for (let i = lo; i < hi; i++) out[row + i] = at[i] - s * z[row + i] > 0 ? A : 0;
          break;
        case 'gauss':
          for (let i = lo; i < hi; i++) {
            const r = at[i] - s * z[row + i];
            out[row + i] = A * r * Math.exp(-0.5 * r * r);
          }
          break;
      }
    });
  }

  /** out[j*d + i] = sampleCurvature at at[i] with ξ = σ·z[j*d + i] */
  curvatures(at: ArrayLike<number>, z: ArrayLike<number>, n: number, out: Float32Array): void {
    this.#each(n, (c, s, lo, hi, row) => {
      const A = c.A;
      if (c.loss === 'gauss') {
        for (let i = lo; i < hi; i++) {
          const r = at[i] - s * z[row + i];
          out[row + i] = A * (1 - r * r) * Math.exp(-0.5 * r * r);
        }
      } else {
        out.fill(c.loss === 'quad' ? 2 * A : 0, row + lo, row + hi);
      }
    });
  }

  /** out[i] = expectedExcess of coordinate i's case at theta[i] */
  excess(theta: ArrayLike<number>, out: Float64Array): void {
    for (let b = 0; b < this.cases.length; b++) {
      const c = this.cases[b];
      for (let i = b * this.runs; i < (b + 1) * this.runs; i++) out[i] = expectedExcess(c, theta[i]);
    }
  }

  #each(n: number, body: (c: Case, s: number, lo: number, hi: number, row: number) => void): void {
    const { d, runs } = this;
    for (let b = 0; b < this.cases.length; b++) {
      const c = this.cases[b];
      const s = Math.sqrt(c.noise);
      for (let j = 0; j < n; j++) body(c, s, b * runs, (b + 1) * runs, j * d);
    }
  }
}
