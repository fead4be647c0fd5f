// One randomized scenario run in lockstep with the float64 reference (test/compare.test.ts, and
// test/mpi-job.ts for the ranks of a data-parallel step): before each update the reference starts
// from the native state, so every single update of a trajectory (bootstrap, its end, regular
// steps, outliers, skips) is compared.
// Tolerance: the model of docs/algorithm.md with native/tools/selfcheck.cpp's constants,
// |native - ref| <= 2e-5·(|ref| + |before| + 1% of the field's largest |ref|) + the rounding
// allowance of a cancelling bootstrap offset, per element; an element may differ more only where
// float32 rounding flips the outlier test (checked below). The probe point is held tighter, to its
// offset: 2e-5·|δ| + 1e-6·|θ+δ| + the same allowance.
import type { Optimizer, VSGDfd } from '../lib/index.ts';
import { effRows, gauss, rateRel, refCloneState, refCurvSample, refProbe, type RefState, refUpdate, reweighting } from './reference.ts';
import { logUniform, make, refField, refOptions, rng, type Setup, toRef } from './helpers.ts';

const RTOL = 2e-5;

export interface Scenario extends Setup {
  d: number;
  steps: number;
  density: number;
  hostile: boolean;
  csr?: boolean; // feed the rows as sparse rows (updateSparse / probeSparse)
}

// The non-zero entries of dense rows (and the aligned extra values) as CSR.
function toCsr(rows: Float32Array, extra: Float32Array | undefined, n: number, d: number) {
  const offsets = new Int32Array(n + 1), indices: number[] = [], values: number[] = [], shifted: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < d; i++) {
      const x = rows[j * d + i];
      if (x === 0) continue;
      indices.push(i);
      values.push(x);
      if (extra) shifted.push(extra[j * d + i]);
    }
    offsets[j + 1] = indices.length;
  }
  return { offsets, indices: Int32Array.from(indices), values: Float32Array.from(values), ...(extra ? { shifted: Float32Array.from(shifted) } : {}) };
}

// How close coordinate i's batch came to the outlier threshold, |z - 1| in float64.
function outlierMargin(sc: Scenario, before: RefState, grads: Float32Array, extra: Float32Array | undefined, probeOff: number, i: number): number {
  if ((sc.algo !== 'vsgdfd' && sc.algo !== 'vsgd') || sc.outlierSigmas === 0 || before.tau[i] <= 0) return Infinity;
  let m = 0, s1 = 0, c1 = 0;
  for (let j = 0; j < sc.minibatch; j++) {
    const x = grads[j * sc.d + i];
    if (sc.sparsity !== 'none' && x === 0) continue;
    m++;
    s1 += x;
    if (extra && sc.algo === 'vsgdfd') c1 += refCurvSample(refOptions(sc), x, extra[j * sc.d + i], probeOff);
  }
  if (m === 0) return Infinity;
  const k = sc.outlierSigmas, g = before.g[i], h = before.h[i];
  // |mean - avg| against k·sqrt(var - avg²): in float32 var - avg² cancels, so the threshold is
  // only known to within a few ulps of var; inside that band the decision is a coin toss
  const test = (dev: number, second: number, first: number) => {
    const slack = 8 * 2 ** -23 * Math.abs(second);
    const lo = k * Math.sqrt(Math.max(second - first * first - slack, 0));
    const hi = k * Math.sqrt(Math.max(second - first * first + slack, 0));
    if (dev >= lo * (1 - 1e-3) && dev <= hi * (1 + 1e-3)) return 0;
    return Math.abs(dev / (k * Math.sqrt(Math.max(second - first * first, 0))) - 1);
  };
  let margin = test(Math.abs(s1 / m - g), before.v[i], g);
  if (extra && sc.algo === 'vsgdfd') margin = Math.min(margin, test(Math.abs(c1 / m - h), before.vh[i], h));
  return margin;
}

// While a coordinate bootstraps, δ is the mean of the samples seen and this step's active rows,
// terms of either sign: float δ then carries a rounding error of a few ulps of the terms' size,
// which is large relative to a δ that nearly cancels, and every curvature sample, divided by δ,
// inherits it (h once, vh twice). The native self-check allows the same (RefOut::slack).
function cancellation(sc: Scenario, before: RefState, grads: Float32Array, probeOff: Float64Array): Float64Array {
  const { d, minibatch: n } = sc;
  const rel = new Float64Array(d);
  if (sc.variant === 'signed') return rel; // δ from a mean of squares: nothing cancels
  for (let i = 0; i < d; i++) {
    if (before.tau[i] > 0) continue; // after bootstrap δ = g: no cancellation
    const seen = -before.tau[i];
    let m = 0, size = seen * Math.abs(before.g[i]);
    for (let j = 0; j < n; j++) {
      const x = grads[j * d + i];
      if (sc.sparsity !== 'none' && x === 0) continue;
      m++;
      size += Math.abs(x);
    }
    // non-finite rows skip the coordinate: no allowance there
    if (seen + m > 0 && Number.isFinite(size)) rel[i] = (8 * 2 ** -24 * size) / (seen + m) / Math.abs(probeOff[i]);
  }
  return rel;
}

// Variant 'signed': h is a mean of samples of either sign, which may cancel far below their size;
// the float samples then carry a rounding error of a few ulps of that size (the mean |c|).
function curvatureSize(sc: Scenario, grads: Float32Array, extra: Float32Array, probeOff: Float64Array): Float64Array {
  const { d, minibatch: n } = sc;
  const size = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let m = 0, sum = 0;
    for (let j = 0; j < n; j++) {
      const x = grads[j * d + i];
      if (sc.sparsity !== 'none' && x === 0) continue;
      m++;
      sum += Math.abs(refCurvSample(refOptions(sc), x, extra[j * d + i], probeOff[i]));
    }
    if (m > 0 && Number.isFinite(sum)) size[i] = (8 * 2 ** -24 * sum) / m;
  }
  return size;
}

// A regular step's moving averages (1 − r)·old + r·new carry the rounding of both terms and of
// r, which (1 − r) makes large relative to the result where τ is near 1; the memory τ' (through
// g²/v), the rate and so θ inherit it, 'signed' rates most where v is close to g² (rateRel).
// Per coordinate, the absolute allowances of tau, eta and theta.
function conditioning(sc: Scenario, before: RefState, after: RefState, grads: Float32Array, theta: Float64Array,
  thetaBefore: Float64Array): Record<string, Float64Array> | null {
  if (sc.algo !== 'vsgdfd' && sc.algo !== 'vsgd') return null;
  const { d, minibatch: n } = sc, o = refOptions(sc), u = 8 * 2 ** -24;
  const out = { tau: new Float64Array(d), eta: new Float64Array(d), theta: new Float64Array(d) };
  const neff = sc.reweight ? reweighting(grads, n, d).neff : undefined;
  for (let i = 0; i < d; i++) {
    // the step that ends a bootstrap computes the first rate from means over this step's rows
    const ends = before.tau[i] <= 0 && after.tau[i] > 0;
    if (!(after.tau[i] > 0 && (before.tau[i] > 0 || ends))) continue;
    let m = 0;
    for (let j = 0; j < n; j++) m += grads[j * d + i] !== 0 ? 1 : 0;
    const ne = effRows(o, neff, n, m, after.p[i]);
    if (ne === 0) continue;
    const c = { g: after.g[i], v: after.v[i], h: after.h[i], vh: after.vh[i], tau: after.tau[i] };
    // a regular step: ≥ u·(|old| + r·|new|); a bootstrap's means: float sums of up to n terms each
    const err = (f: 'g' | 'v' | 'h' | 'vh') =>
      ends ? (n + 2) * 2 ** -24 * (Math.abs(before[f][i]) + Math.abs(after[f][i])) : u * (2 * Math.abs(before[f][i]) + Math.abs(after[f][i]));
    const s = { g: err('g'), v: err('v'), h: err('h'), vh: err('vh') };
    const rel = rateRel(o, c, ne, s), eps = o.epsilon;
    const relG2 = c.g !== 0 ? Math.min((2 * (s.g + u * Math.abs(c.g))) / Math.abs(c.g), 1) : 1;
    out.tau[i] = (relG2 + s.v / (c.v + eps) + u) * ((c.g * c.g) / (c.v + eps)) * (before.tau[i] + 1);
    out.eta[i] = rel * Math.abs(after.eta[i]);
    out.theta[i] = (rel + u) * Math.abs(theta[i] - thetaBefore[i]);
  }
  return out;
}

/** Where the optimizer's rows come from, for a part of the rows only (an MPI rank): it makes the
 * optimizer, takes its share of the step's rows, and may check more after each update. */
export interface Part {
  make(sc: Scenario, theta: Float32Array): Optimizer;
  rows(all: Float32Array, n: number, d: number): Float32Array;
  after?(opt: Optimizer, step: number): string[];
}

/** Runs a scenario in lockstep with the reference; the problems found (at most 8). */
export function run(sc: Scenario, seed: number, part?: Part): string[] {
  const r = rng(seed);
  const { d, minibatch: n } = sc;
  const theta = new Float32Array(d);
  const a = new Float64Array(d), noise = new Float64Array(d), mu = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    a[i] = logUniform(r, 1e-2, 1e2);
    noise[i] = logUniform(r, 1e-2, 10);
    mu[i] = gauss(r);
    theta[i] = gauss(r) * 3;
  }
  const opt: Optimizer = part ? part.make(sc, theta) : make(sc, theta);
  const mine = (rows: Float32Array) => (part ? part.rows(rows, n, d) : rows);
  const ro = refOptions(sc);
  const problems: string[] = [];
  const grads = new Float32Array(n * d);
  const extra = new Float32Array(n * d);
  for (let step = 0; step < sc.steps && problems.length === 0; step++) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < d; i++) {
        let x = a[i] * (theta[i] - mu[i]) + noise[i] * gauss(r);
        if (sc.density < 1 && r() > sc.density) x = 0;
        else if (r() < 2e-3) x *= 100; // outliers
        if (sc.hostile && r() < 1e-3) x = [NaN, Infinity, -Infinity, 3e38, -3e38][Math.floor(r() * 5)];
        grads[j * d + i] = x;
      }
    }
    const state = toRef(opt); // refUpdate advances this one
    const before = refCloneState(state);
    const theta64 = Float64Array.from(theta);
    const thetaBefore = Float64Array.from(theta);
    let given: Float32Array | undefined;
    let probeOff: Float64Array | undefined;
    if (sc.algo === 'vsgdfd' && (opt as unknown as { needsCurvature: boolean }).needsCurvature) {
      const vopt = opt as unknown as VSGDfd;
      const own = mine(grads);
      const at = sc.csr ? vopt.probeSparse(toCsr(own, undefined, own.length / d, d)) : !vopt.bootstrapping && r() < 0.5 ? vopt.probe() : vopt.probe(own);
      const want = refProbe(ro, theta64, state, grads, n, d);
      probeOff = new Float64Array(d);
      for (let i = 0; i < d; i++) probeOff[i] = want[i] - theta64[i];
      const deltaRel = cancellation(sc, before, grads, probeOff);
      for (let i = 0; i < d; i++) {
        if (Math.abs(at[i] - want[i]) > RTOL * Math.abs(probeOff[i]) + 1e-6 * Math.abs(want[i]) + deltaRel[i] * Math.abs(probeOff[i])) {
          problems.push(`step ${step}: probe[${i}] = ${at[i]}, reference ${want[i]}`);
        }
      }
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < d; i++) {
          const x = grads[j * d + i];
          extra[j * d + i] = x === 0 && sc.sparsity !== 'none' ? 0 : x + a[i] * (at[i] - theta[i]) * (1 + 0.1 * gauss(r));
          if (sc.hostile && r() < 5e-4) extra[j * d + i] = NaN;
        }
      }
      given = extra;
    } else if (sc.algo === 'vsgd' && (opt as unknown as { needsCurvature: boolean }).needsCurvature) {
      for (let k = 0; k < n * d; k++) extra[k] = 2 * a[k % d] * (1 + 0.2 * gauss(r));
      given = extra;
    }
    const [ownGrads, ownGiven] = [mine(grads), given && mine(given)];
    const csr = sc.csr ? toCsr(ownGrads, ownGiven, ownGrads.length / d, d) : undefined;
    const info = csr ? opt.updateSparse(sc.algo === 'vsgd' && csr.shifted ? { ...csr, shifted: undefined, curvature: csr.shifted } : csr) : opt.update(ownGrads, ownGiven);
    const want = refUpdate(ro, theta64, state, grads, given ?? null, n, d, step);
    const margin = (i: number) => outlierMargin(sc, before, grads, given, probeOff ? probeOff[i] : 1, i);
    const deltaRel = probeOff ? cancellation(sc, before, grads, probeOff) : null;
    const signedSize = probeOff && given && sc.variant === 'signed' ? curvatureSize(sc, grads, given, probeOff) : null;
    const cond = conditioning(sc, before, state, grads, theta64, thetaBefore);
    const bad = new Set<number>();
    const compare = (name: string, got: ArrayLike<number>, ref: ArrayLike<number>, old: ArrayLike<number>) => {
      let mx = 0;
      for (let i = 0; i < d; i++) mx = Math.max(mx, Math.abs(ref[i]));
      const floor = RTOL * 0.01 * mx;
      const per = name === 'h' ? 1 : name === 'vh' ? 2 : 0; // how many factors of 1/δ the field carries
      for (let i = 0; i < d; i++) {
        const slack = (deltaRel && per ? per * deltaRel[i] * Math.abs(ref[i]) : 0) + (signedSize && name === 'h' ? signedSize[i] : 0) +
          (cond?.[refField(name)]?.[i] ?? 0);
        const same = Object.is(got[i], ref[i]) || Math.abs(got[i] - ref[i]) <= RTOL * (Math.abs(ref[i]) + Math.abs(old[i])) + floor + slack;
        if (!same && !bad.has(i)) {
          bad.add(i);
          if (margin(i) > 1e-3) problems.push(`step ${step}: ${name}[${i}] = ${got[i]}, reference ${ref[i]} (before ${old[i]})`);
        }
      }
    };
    compare('theta', theta, theta64, thetaBefore);
    for (const [name, view] of Object.entries(opt.state)) compare(name, view, state[refField(name)], before[refField(name)]);
    // outlier decisions float32 rounding may flip: mismatched coordinates, or any within 1e-3 of the threshold
    let near = 0;
    if (info.outliers !== want.outliers) for (let i = 0; i < d; i++) near += margin(i) <= 1e-3 ? 1 : 0;
    const borderline = Math.max(bad.size, near);
    if (info.touched !== want.touched && Math.abs(info.touched - want.touched) > borderline) problems.push(`step ${step}: touched ${info.touched} vs ${want.touched}`);
    if (info.skipped !== want.skipped) problems.push(`step ${step}: skipped ${info.skipped} vs ${want.skipped}`);
    if (Math.abs(info.outliers - want.outliers) > borderline) problems.push(`step ${step}: outliers ${info.outliers} vs ${want.outliers}`);
    if (info.bootstrapping !== want.bootstrapping && !sc.csr) {
      const tau = opt.state.tau;
      const which = Array.from(tau.keys()).filter((i) => (tau[i] <= 0) !== (state.tau[i] <= 0))
        .map((i) => `${i}: tau ${tau[i]} vs ${state.tau[i]} (before ${before.tau[i]})`);
      const own = tau.filter((x) => x <= 0).length;
      problems.push(`step ${step}: bootstrapping ${info.bootstrapping} vs ${want.bootstrapping} (native state has ${own}); ${which.join(', ')}`);
    }
    if (info.rows !== n || info.curvature !== !!given) problems.push(`step ${step}: info ${JSON.stringify(info)}`);
    if (part?.after) problems.push(...part.after(opt, step));
  }
  opt.dispose();
  return problems.slice(0, 8);
}
