// Figures 1 and 2: what a minibatch of n sample gradients buys per sample on the noisy separable
// quadratic of Section 2, with the optimal rates of eq. 3 and 4 (the true distance, curvature
// and noise are known to the rule). Measured over one update from distance 1 with h = 1:
// gain(n) = log10(loss before / expected loss after), and the figures plot
// (gain(n)/n) / gain(1): the share of single-sample efficiency that one sample keeps.
// Curves are exact expectations over the number m ~ Binomial(n, p) of non-zero entries;
// dots are Monte Carlo runs of lib/problems/quadratic.ts through the same rules.
import { NoisyQuadratic } from '../problems/quadratic';
import { type Rng, rng } from '../problems/random';

/** eq. 4 with the batch's own count m; 'global' with clamp(n·p, 1, n); or a fixed SGD rate */
export type Rule = { kind: 'instance' } | { kind: 'global' } | { kind: 'fixed'; rate: number };

/** Multiplier a on the mean of the m non-zero entries: θ ← θ − a·mean (θ* = 0, h = 1). */
function stepFactor(rule: Rule, e: number, noise: number, n: number, p: number, m: number): number {
  switch (rule.kind) {
    case 'instance':
      return e / (e + noise / m);
    case 'global': {
      const mh = Math.min(n, Math.max(1, n * p));
      return (e / (e + noise / mh)) * (m / mh);
    }
    case 'fixed':
      return (rule.rate * m) / n; // the plain minibatch mean counts the zero rows
  }
}

/** Expected squared distance after one update from squared distance e. */
export function expectedAfter(rule: Rule, e: number, noise: number, n: number, p: number): number {
  let sum = 0;
  for (const [m, w] of binomial(n, p)) {
    if (m === 0) {
      sum += w * e;
      continue;
    }
    const a = stepFactor(rule, e, noise, n, p, m);
    sum += w * ((1 - a) * (1 - a) * e + (a * a * noise) / m);
  }
  return sum;
}

/** [m, P(m)] for m ~ Binomial(n, p), skipping negligible terms */
function binomial(n: number, p: number): [number, number][] {
  if (p >= 1) return [[n, 1]];
  const out: [number, number][] = [];
  let log = n * Math.log1p(-p);
  const odds = Math.log(p) - Math.log1p(-p);
  for (let m = 0; m <= n; m++) {
    if (m > 0) log += Math.log((n - m + 1) / m) + odds;
    const w = Math.exp(log);
    if (w > 1e-300) out.push([m, w]);
  }
  return out;
}

export const gain = (rule: Rule, noise: number, n: number, p: number) => Math.log10(1 / expectedAfter(rule, 1, noise, n, p));

/** One Monte Carlo update of the problem under a rule: log10(loss before / mean loss after),
 * with its standard error (delta method over the coordinates). */
export function simulatedGain(rule: Rule, problem: NoisyQuadratic, n: number, r: Rng): { gain: number; se: number } {
  const d = problem.d;
  const theta = new Float64Array(d).fill(1);
  const rows = new Float64Array(n * d);
  problem.gradRows(theta, n, r, rows);
  const before = problem.excess(theta);
  const e = 1; // the rules know the true squared distance, which is 1 for every coordinate
  for (let i = 0; i < d; i++) {
    let m = 0;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const g = rows[j * d + i];
      if (g !== 0) {
        m++;
        sum += g;
      }
    }
    if (m > 0) theta[i] -= stepFactor(rule, e, problem.noise, n, problem.density, m) * (sum / m / problem.h);
  }
  const after = problem.excess(theta);
  let sq = 0;
  const mean = (2 * after) / (problem.density * problem.h); // mean θ² over coordinates
  for (let i = 0; i < d; i++) sq += (theta[i] * theta[i] - mean) ** 2;
  const se = Math.sqrt(sq / (d - 1) / d) / mean / Math.LN10;
  return { gain: Math.log10(before / after), se };
}

export interface Curve {
  label: string;
  noise: number;
  density: number;
  rule: Rule['kind'];
  ns: number[];
  /** (gain(n)/n) / gain of the instance rule at n = 1 */
  relative: number[];
}

export interface Panel {
  title: string;
  density: number;
  curves: Curve[];
  /** Monte Carlo check of the curves: [curve index, n, relative gain, its standard error] */
  dots: [number, number, number, number][];
  /** Figure 2 only: the fixed SGD rates, [rate, n, relative gain] where the gain is positive */
  fixed?: [number, number, number][];
}

export interface MinibatchOptions {
  ns: number[];
  noises: number[];
  densities: number[];
  /** coordinates of each Monte Carlo update */
  mcCoordinates: number;
  seed: number;
}

export const FIGURE1: MinibatchOptions = {
  ns: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], noises: [0.01, 0.1, 1, 10], densities: [1, 0.1, 0.01], mcCoordinates: 2000, seed: 2013,
};
export const FIGURE2 = { noises: [0.01, 1], densities: [0.1, 0.01], rates: 40, rateRange: [0.01, 100] as [number, number] };

const curve = (rule: Rule, noise: number, p: number, ns: number[]): Curve => {
  const base = gain({ kind: 'instance' }, noise, 1, p);
  return {
    label: `${rule.kind === 'instance' ? 'eq. 4' : rule.kind} σ²=${noise}`, noise, density: p, rule: rule.kind, ns,
    relative: ns.map((n) => gain(rule, noise, n, p) / n / base),
  };
};

const DOT_NS = [1, 4, 16, 64, 256];
const DOT_BUDGET = 2e6; // samples per dot

// Sparse or very noisy problems need more coordinates for the same precision; the budget then
// leaves out the larger n.
function dots(curves: Curve[], o: MinibatchOptions, r: Rng): Panel['dots'] {
  const out: Panel['dots'] = [];
  curves.forEach((c, k) => {
    const d = Math.min(Math.round((o.mcCoordinates * Math.max(1, c.noise)) / c.density), 50_000);
    const problem = new NoisyQuadratic(d, { noise: c.noise, density: c.density });
    const base = gain({ kind: 'instance' }, c.noise, 1, c.density);
    for (const n of DOT_NS.filter((n) => n * d <= DOT_BUDGET)) {
      const { gain: g, se } = simulatedGain({ kind: c.rule } as Rule, problem, n, r);
      out.push([k, n, g / n / base, se / n / base]);
    }
  });
  return out;
}

/** Figure 1: one panel per density, one eq.-4 curve per noise level. */
export function figure1(o: MinibatchOptions = FIGURE1): Panel[] {
  const r = rng(o.seed);
  return o.densities.map((p) => {
    const curves = o.noises.map((noise) => curve({ kind: 'instance' }, noise, p, o.ns));
    return { title: p === 1 ? 'dense' : `density p = ${p}`, density: p, curves, dots: dots(curves, o, r) };
  });
}

/** Figure 2: per (noise, density), eq. 4 against the global rule and 40 fixed SGD rates. */
export function figure2(o: MinibatchOptions = FIGURE1, f = FIGURE2): Panel[] {
  const r = rng(o.seed + 1);
  const [lo, hi] = f.rateRange;
  const rates = Array.from({ length: f.rates }, (_, k) => lo * Math.pow(hi / lo, k / (f.rates - 1)));
  const panels: Panel[] = [];
  for (const noise of f.noises) {
    for (const p of f.densities) {
      const curves = [curve({ kind: 'instance' }, noise, p, o.ns), curve({ kind: 'global' }, noise, p, o.ns)];
      const base = gain({ kind: 'instance' }, noise, 1, p);
      const fixed: [number, number, number][] = [];
      for (const rate of rates) {
        for (const n of o.ns) {
          const g = gain({ kind: 'fixed', rate }, noise, n, p);
          if (g > 0) fixed.push([rate, n, g / n / base]);
        }
      }
      panels.push({ title: `σ² = ${noise}, p = ${p}`, density: p, curves, dots: dots(curves, o, r), fixed });
    }
  }
  return panels;
}
