// Checks the elementary test suite's losses against docs/experiments.md: closed-form expected
// excess vs Monte Carlo, gradients vs finite differences, and the normal CDF.
import test from 'ava';
import {
  LOSSES,
  cases,
  expectedExcess,
  gradRows,
  normalCdf,
  sampleGrad,
  sampleLoss,
  type Case,
} from '../lib/problems/elementary.ts';

// Small seeded PRNG so the Monte Carlo checks are reproducible.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Standard normals by Box–Muller (both outputs used).
function gaussians(count: number, seed: number): Float64Array {
  const u = mulberry32(seed);
  const z = new Float64Array(count);
  for (let k = 0; k < count; k += 2) {
    const u1 = 1 - u(); // in (0, 1], so log is finite
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u();
    z[k] = r * Math.cos(a);
    if (k + 1 < count) z[k + 1] = r * Math.sin(a);
  }
  return z;
}

const PAIRS = 100_000; // antithetic pairs (ξ, −ξ): 200k samples per estimate
const Z = gaussians(PAIRS, 12345);
const THETAS = [-2, 0.3, 1, 3];

// Monte Carlo estimate of the excess and its standard error. Uses common random numbers
// (f(θ;ξ) − f(θ*;ξ) on the same ξ) where the optimum is θ* = 0; rectlin's infimum is 0,
// so there the estimate is E[f] itself. Antithetic pairs are averaged into one draw.
function mcExcess(c: Case, theta: number): { mean: number; se: number } {
  const s = Math.sqrt(c.noise);
  const excessAt = (xi: number) =>
    c.loss === 'rectlin' ? sampleLoss(c, theta, xi) : sampleLoss(c, theta, xi) - sampleLoss(c, 0, xi);
  let sum = 0;
  let sumSq = 0;
  for (let k = 0; k < PAIRS; k++) {
    const xi = s * Z[k];
    const v = 0.5 * (excessAt(xi) + excessAt(-xi));
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / PAIRS;
  const variance = Math.max(0, sumSq / PAIRS - mean * mean) * (PAIRS / (PAIRS - 1));
  return { mean, se: Math.sqrt(variance / PAIRS) };
}

const name = (c: Case) => `${c.loss} A=${c.A} σ²=${c.noise}`;

test('36 cases in loss-major order', (t) => {
  const cs = cases();
  t.is(cs.length, 36);
  for (let k = 0; k < 36; k++) t.is(cs[k].loss, LOSSES[Math.floor(k / 9)]);
  t.deepEqual(cs[0], { loss: 'quad', A: 0.1, noise: 0.1 });
  t.deepEqual(cs[1], { loss: 'quad', A: 0.1, noise: 1 });
  t.deepEqual(cs[35], { loss: 'gauss', A: 10, noise: 10 });
});

test('normalCdf matches known values', (t) => {
  const known: [number, number][] = [
    [0, 0.5],
    [1, 0.8413447460685429],
    [-2, 0.022750131948179195],
    [3.5, 0.9997673709209645],
    [-5, 2.866515718791933e-7],
  ];
  for (const [x, p] of known) {
    t.true(Math.abs(normalCdf(x) - p) <= 1e-7 * p + 1e-15, `Φ(${x}) = ${normalCdf(x)}, want ${p}`);
  }
  t.is(normalCdf(-1.3) + normalCdf(1.3), 1); // symmetry
});

test('expected excess is zero at the optimum (not rectlin) and positive elsewhere', (t) => {
  for (const c of cases()) {
    if (c.loss !== 'rectlin') t.true(Math.abs(expectedExcess(c, 0)) < 1e-12, name(c));
    for (const th of THETAS) t.true(expectedExcess(c, th) > 0, `${name(c)} θ=${th}`);
  }
});

test('expectedExcess matches Monte Carlo for all 36 cases', (t) => {
  for (const c of cases()) {
    for (const th of THETAS) {
      const want = expectedExcess(c, th);
      const { mean, se } = mcExcess(c, th);
      // 5 standard errors, plus a little for rounding in the 100k-term sums.
      const tol = 5 * se + 1e-9 * (1 + Math.abs(want));
      t.true(Math.abs(mean - want) <= tol, `${name(c)} θ=${th}: MC ${mean} ± ${se}, closed form ${want}`);
    }
  }
});

test('sampleGrad is the derivative of sampleLoss away from kinks', (t) => {
  const h = 1e-6;
  for (const c of cases()) {
    for (const th of THETAS) {
      for (const xi of [-1.7, -0.2, 0.45, 2.2]) {
        if (Math.abs(th - xi) < 1e-3) continue; // abs and rectlin kink at θ = ξ
        const fd = (sampleLoss(c, th + h, xi) - sampleLoss(c, th - h, xi)) / (2 * h);
        const g = sampleGrad(c, th, xi);
        t.true(Math.abs(fd - g) <= 1e-6 * (1 + Math.abs(g)), `${name(c)} θ=${th} ξ=${xi}: fd ${fd}, grad ${g}`);
      }
    }
  }
});

test('sampleGrad at the kink: sign(0) = 0, rectlin 0', (t) => {
  t.is(sampleGrad({ loss: 'abs', A: 1, noise: 1 }, 0.5, 0.5), 0);
  t.is(sampleGrad({ loss: 'rectlin', A: 1, noise: 1 }, 0.5, 0.5), 0);
});

test('gradRows lays out n samples per coordinate row-major', (t) => {
  const n = 3;
  const d = 5;
  const at = [-2, -0.5, 0, 0.3, 1.7];
  const xi = Array.from(gaussians(n * d, 7));
  const out = new Float32Array(n * d);
  for (const c of cases()) {
    gradRows(c, at, xi, n, d, out);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < d; i++) t.is(out[j * d + i], Math.fround(sampleGrad(c, at[i], xi[j * d + i])));
    }
  }
  t.throws(() => gradRows(cases()[0], at, xi, n, d, new Float32Array(n * d - 1)), { instanceOf: RangeError });
});
