// Float64 reference for the optimizer kernels (vSGD-fd, vSGD with supplied curvature, baselines).
//
// This file is deliberately independent of the native code: it re-derives every update from
// docs/algorithm.md, the project's statement of the algorithm, in plain double arithmetic, so that the tests can
// compare the float32 kernels against it. It favours clarity over speed: one coordinate at a time,
// candidates computed first and committed only if they are all representable (the kernel stores
// float32, so "skip on overflow" must be decided on the same values).

export type Algo = 'vsgdfd' | 'vsgd' | 'sgd' | 'adagrad' | 'natural' | 'adam';
export type Sparsity = 'none' | 'instance' | 'global';

export interface RefOptions {
  algo: Algo;
  sparsity: Sparsity; // used only by vsgdfd and vsgd
  bootstrap: number; // n0: samples gathered before a coordinate moves
  slowStart: number; // C: over-estimation factor applied when bootstrap ends
  epsilon: number; // ε (vSGD: 1e-5; adam callers pass 1e-8)
  outlierSigmas: number; // k, 0 disables the outlier test
  reweight?: boolean; // eq. 5: step Σ w_j ∇_j, rate with n_eff (dense rows only)
  variant?: 'paper' | 'signed'; // vsgdfd's probe and rate (default 'paper' here)
  lr: number; // baselines: eta0
  decay: number; // SGD's gamma
  beta1: number; // adam
  beta2: number; // adam
}

export interface RefState {
  g: Float64Array;
  v: Float64Array;
  h: Float64Array;
  vh: Float64Array;
  tau: Float64Array;
  eta: Float64Array;
  p: Float64Array;
}

export interface RefStats {
  touched: number;
  skipped: number;
  outliers: number;
  bootstrapping: number;
}

/** Largest finite float32; anything beyond it would become Infinity when the kernel stores it. */
const FLT_MAX = 3.4028234663852886e38;

/** A candidate value is storable iff it is finite in float64 and does not overflow float32. */
function storable(x: number): boolean {
  return Number.isFinite(x) && Math.abs(x) <= FLT_MAX;
}

function allStorable(xs: number[]): boolean {
  for (const x of xs) if (!storable(x)) return false;
  return true;
}

export function refState(d: number): RefState {
  return {
    g: new Float64Array(d),
    v: new Float64Array(d),
    h: new Float64Array(d),
    vh: new Float64Array(d),
    tau: new Float64Array(d),
    eta: new Float64Array(d),
    p: new Float64Array(d),
  };
}

export function refCloneState(s: RefState): RefState {
  return {
    g: Float64Array.from(s.g),
    v: Float64Array.from(s.v),
    h: Float64Array.from(s.h),
    vh: Float64Array.from(s.vh),
    tau: Float64Array.from(s.tau),
    eta: Float64Array.from(s.eta),
    p: Float64Array.from(s.p),
  };
}

function isVsgdFamily(algo: Algo): boolean {
  return algo === 'vsgdfd' || algo === 'vsgd';
}

/**
 * Whether row j is active for coordinate i. Dense mode uses every row; sparse modes use the rows
 * whose gradient is non-zero (`!== 0`, so NaN counts as non-zero and reaches the skip rule).
 */
function active(o: RefOptions, grads: ArrayLike<number>, j: number, d: number, i: number): boolean {
  return o.sparsity === 'none' || grads[j * d + i] !== 0;
}

function checkSizes(name: string, a: ArrayLike<number>, need: number): void {
  if (a.length < need) throw new RangeError(`${name} has ${a.length} entries, needs ${need}`);
}

/**
 * Probe offset δ_i. Past bootstrap it is g_i; during bootstrap it is the mean of every gradient
 * seen so far including the current active rows (docs/algorithm.md, "Bootstrap"). Then the ε-guard keeps |δ| ≥ ε
 * so the finite difference never divides by (nearly) zero; sign(0) = sign(-0) = +1.
 * Variant 'signed': z_i · max(sqrt(v̄), ε), v̄ the mean of ∇² (v_i past bootstrap, the mean over
 * the samples seen and the current active rows during it), z_i = refProbeSign(i, g_i, v_i).
 */
function probeOffset(
  o: RefOptions,
  s: RefState,
  grads: ArrayLike<number> | null,
  n: number,
  d: number,
  i: number,
): number {
  const eps = o.epsilon;
  const signed = o.variant === 'signed';
  let delta: number;
  if (s.tau[i] > 0) {
    delta = signed ? s.v[i] : s.g[i];
  } else {
    const seen = -s.tau[i];
    let m = 0;
    let sum = 0;
    if (grads !== null) {
      for (let j = 0; j < n; j++) {
        if (!active(o, grads, j, d, i)) continue;
        m++;
        const x = grads[j * d + i];
        sum += signed ? x * x : x;
      }
    }
    const tot = seen + m;
    delta = tot === 0 ? 0 : (seen * (signed ? s.v[i] : s.g[i]) + sum) / tot;
  }
  if (signed) {
    // the float32 mean of squares is rounded before its square root, as the kernel does
    let size = Math.sqrt(Math.max(Math.fround(delta), 0));
    if (!storable(size) || size < eps) size = eps;
    return refProbeSign(i, s.g[i], s.v[i]) * size;
  }
  // A non-finite (or float32-overflowing) mean comes from bad inputs; the coordinate is skipped
  // by the update anyway, and +ε keeps the probe point finite.
  if (!storable(delta)) delta = eps;
  // `delta < 0` is false for both +0 and -0, so both get +ε.
  if (Math.abs(delta) < eps) delta = delta < 0 ? -eps : eps;
  return delta;
}

const word = new DataView(new ArrayBuffer(4));
const bitsOf = (x: number) => {
  word.setFloat32(0, x);
  return word.getUint32(0);
};

/** The random sign of the 'signed' probe: a hash of the index and of the float32 bits of g and v
 * (32-bit multiplications modulo 2^32, logical shifts), its top bit giving −1. */
export function refProbeSign(i: number, g: number, v: number): number {
  let h = (Math.imul(i >>> 0, 0x9e3779b1) ^ bitsOf(g) ^ Math.imul(bitsOf(v), 0x85ebca77)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  h = Math.imul(h, 0x297a2d39) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return h >>> 31 ? -1 : 1;
}

/** One curvature sample: |∇ − ∇'|/|δ| (paper) or (∇' − ∇)/δ ('signed'); vSGD: |supplied|. */
export function refCurvSample(o: RefOptions, x: number, e: number, delta: number): number {
  if (o.algo !== 'vsgdfd') return Math.abs(e);
  return o.variant === 'signed' ? (e - x) / delta : Math.abs(x - e) / Math.abs(delta);
}

/** θ + δ per coordinate: where the caller evaluates the shifted gradient rows (vsgdfd only). */
export function refProbe(
  o: RefOptions,
  theta: ArrayLike<number>,
  s: RefState,
  grads: ArrayLike<number> | null,
  n: number,
  d: number,
): Float64Array {
  if (o.algo !== 'vsgdfd') throw new Error(`refProbe: only vsgdfd probes, not ${o.algo}`);
  checkSizes('theta', theta, d);
  if (grads !== null) checkSizes('grads', grads, n * d);
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) out[i] = theta[i] + probeOffset(o, s, grads, n, d, i);
  return out;
}

/**
 * One update over n rows. Mutates theta and s in place; returns the per-update counters.
 * `t` is the number of updates done before this one (only the baselines use it).
 */
export function refUpdate(
  o: RefOptions,
  theta: Float64Array,
  s: RefState,
  grads: ArrayLike<number>,
  extra: ArrayLike<number> | null,
  n: number,
  d: number,
  t: number,
): RefStats {
  checkSizes('theta', theta, d);
  checkSizes('grads', grads, n * d);
  if (extra !== null) checkSizes('extra', extra, n * d);
  const stats: RefStats = { touched: 0, skipped: 0, outliers: 0, bootstrapping: 0 };

  if (!isVsgdFamily(o.algo)) {
    for (let i = 0; i < d; i++) baselineCoordinate(o, theta, s, grads, n, d, t, i, stats);
    return stats; // baselines never bootstrap
  }

  const rw = o.reweight ? reweighting(grads, n, d) : null;
  for (let i = 0; i < d; i++) vsgdCoordinate(o, theta, s, grads, extra, n, d, i, stats, rw);
  for (let i = 0; i < d; i++) if (s.tau[i] <= 0) stats.bootstrapping++;
  if (o.sparsity !== 'instance' && !o.reweight) deriveEta(o, s, n, d);
  return stats;
}

/**
 * eta as a read of the state gives it where the update does not store it (dense rows and
 * 'global' sparsity, no reweighting; docs/algorithm.md): the rate the statistics give with this
 * update's ne, 0 while bootstrapping, for every coordinate whether or not the update changed it.
 * 'instance' (ne is each coordinate's own count of active rows) and reweighting store the same
 * rate at each update that changes the coordinate, and keep it otherwise.
 */
function deriveEta(o: RefOptions, s: RefState, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    const ne = o.sparsity === 'global' ? Math.min(Math.max(n * s.p[i], 1), n) : n;
    s.eta[i] = s.tau[i] <= 0 ? 0 : rate(o, s.g[i], s.v[i], s.h[i], s.vh[i], s.tau[i], ne);
  }
}

/** Effective minibatch size: n_eff with reweighting, else dense n, instance m_i, global the long-run clamp(n·p, 1, n). */
export function effRows(o: RefOptions, neff: number | undefined, n: number, m: number, p: number): number {
  if (neff !== undefined) return neff;
  if (o.sparsity === 'instance') return m;
  if (o.sparsity === 'global') return Math.min(Math.max(n * p, 1), n);
  return n;
}

/** The rate eta (docs/algorithm.md) from the statistics, the memory tau and ne effective rows. */
function rate(o: RefOptions, g: number, v: number, h: number, vh: number, tau: number, ne: number): number {
  const eps = o.epsilon, g2 = g * g;
  if (o.algo === 'vsgdfd' && o.variant === 'signed') {
    // the noise v − g² sees |h| plus half its standard error over τ·ne samples; the mean sqrt(vh)
    const noiseH = Math.abs(h) + 0.5 * Math.sqrt(Math.max(vh - h * h, 0) / (tau * ne));
    return (ne * g2) / ((noiseH + eps) * (Math.max(v - g2, 0) + eps * v) + (Math.sqrt(vh) + eps) * ne * g2 + 1e-30);
  }
  const base = (ne * g2) / (v + (ne - 1) * g2 + eps);
  return o.algo === 'vsgdfd' ? ((h + eps) / (vh + eps)) * base : base / (h + eps);
}

/**
 * The rate's relative rounding allowance: first-order propagation through rate() of absolute
 * allowances sg, sv, sh, svh of g, v, h, vh (each also rounded once more as a float kernel reads and
 * squares it). Where v is close to g² or vh to h², 'signed' takes the differences, which those
 * allowances move by far more than their relative size: bounded through the differences
 * (|√a − √b| ≤ min(√|a−b|, |a−b|/√a)). The native self-check allows the same (ref_rate_rel).
 */
export function rateRel(o: RefOptions, c: { g: number; v: number; h: number; vh: number; tau: number }, ne: number,
  s: { g: number; v: number; h: number; vh: number }): number {
  const eps = o.epsilon, u = 8 * 2 ** -24, g2 = c.g * c.g;
  const sg = s.g + u * Math.abs(c.g), sv = s.v + u * Math.abs(c.v), sh = s.h + u * Math.abs(c.h), svh = s.vh + u * Math.abs(c.vh);
  const relG2 = c.g !== 0 ? Math.min((2 * sg) / Math.abs(c.g), 1) : 0;
  if (!(o.algo === 'vsgdfd' && o.variant === 'signed')) {
    const den = c.v + (ne - 1) * g2 + eps;
    const rel = relG2 + (sv + (ne - 1) * g2 * relG2) / den + sh / (Math.abs(c.h) + eps);
    return rel + (o.algo === 'vsgdfd' ? svh / (Math.abs(c.vh) + eps) : 0);
  }
  const dsqrt = (a: number, da: number) => (a > 0 ? Math.min(Math.sqrt(da), da / Math.sqrt(a)) : Math.sqrt(da));
  const tn = c.tau * ne, a = Math.max(c.v - g2, 0) + eps * c.v, da = 2 * Math.abs(c.g) * sg + sv;
  const x = Math.max(c.vh - c.h * c.h, 0), dx = svh + 2 * Math.abs(c.h) * sh + sh * sh;
  const noise = Math.abs(c.h) + 0.5 * Math.sqrt(x / tn), dnoise = sh + (0.5 * dsqrt(x, dx)) / Math.sqrt(tn);
  const vh = Math.max(c.vh, 0), mean = (Math.sqrt(vh) + eps) * ne * g2;
  const D = (noise + eps) * a + mean, dD = dnoise * a + (noise + eps) * da + dsqrt(vh, svh) * ne * g2 + mean * relG2;
  return relG2 + (dD < D ? dD / (D - dD) : 1);
}

/** Eq. 5 as docs/algorithm.md states it: weights from the rows' absolute cosines, the weighted direction, n_eff. */
interface Reweighting { w: Float64Array; neff: number; dir: Float64Array }
export function reweighting(grads: ArrayLike<number>, n: number, d: number): Reweighting {
  // non-finite entries count as 0 (docs/algorithm.md): a bad entry costs its coordinate only
  const at = (k: number) => (Number.isFinite(grads[k]) ? grads[k] : 0);
  const dot = (j: number, k: number) => {
    let sum = 0;
    for (let i = 0; i < d; i++) sum += at(j * d + i) * at(k * d + i);
    return sum;
  };
  const norm = Array.from({ length: n }, (_, j) => Math.sqrt(dot(j, j)));
  const w = new Float64Array(n);
  let total = 0;
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < n; k++) if (norm[j] > 0 && norm[k] > 0) sum += Math.abs(dot(j, k)) / (norm[j] * norm[k]);
    w[j] = sum > 0 ? 1 / sum : 0;
    total += w[j];
  }
  const dir = new Float64Array(d);
  for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) dir[i] += w[j] * grads[j * d + i];
  return { w, neff: total > 0 ? n / total : n, dir };
}

function vsgdCoordinate(
  o: RefOptions,
  theta: Float64Array,
  s: RefState,
  grads: ArrayLike<number>,
  extra: ArrayLike<number> | null,
  n: number,
  d: number,
  i: number,
  stats: RefStats,
  rw: Reweighting | null = null,
): void {
  const fd = o.algo === 'vsgdfd';
  const eps = o.epsilon;

  // Gather the active rows' gradient sums and note anything non-finite.
  let m = 0;
  let sumG = 0;
  let sumG2 = 0;
  let bad = false;
  for (let j = 0; j < n; j++) {
    if (!active(o, grads, j, d, i)) continue;
    const x = grads[j * d + i];
    m++;
    if (!Number.isFinite(x)) bad = true;
    if (extra !== null && !Number.isFinite(extra[j * d + i])) bad = true;
    sumG += x;
    sumG2 += x * x;
  }
  if (m === 0) return; // no data for this coordinate: untouched

  const tau = s.tau[i];
  // A bootstrapping coordinate cannot learn anything without curvature rows; this is a normal
  // "not due" situation, not an error, so it is not counted as skipped (checked before `bad`).
  if (tau <= 0 && extra === null) return;
  if (bad) {
    stats.skipped++;
    return;
  }

  // Per-sample curvature sums over the same active rows.
  let sumC = 0;
  let sumC2 = 0;
  if (extra !== null) {
    // δ from the state *before* this update, exactly as refProbe gave it to the caller.
    const delta = fd ? probeOffset(o, s, grads, n, d, i) : 1;
    for (let j = 0; j < n; j++) {
      if (!active(o, grads, j, d, i)) continue;
      const k = j * d + i;
      const c = refCurvSample(o, grads[k], extra[k], delta);
      sumC += c;
      sumC2 += c * c;
    }
  }

  const g = s.g[i];
  const v = s.v[i];
  const h = s.h[i];
  const vh = s.vh[i];
  const p = s.p[i];
  const global = o.sparsity === 'global';

  if (tau <= 0) {
    // Bootstrap: running plain means over every sample seen so far; θ does not move.
    const seen = -tau;
    const tot = seen + m;
    const ng = (seen * g + sumG) / tot;
    let nv = (seen * v + sumG2) / tot;
    let nh = (seen * h + sumC) / tot;
    let nvh = fd ? (seen * vh + sumC2) / tot : vh;
    const np = global ? p + (m / n - p) * (m / tot) : p;
    let ntau: number;
    let neta = 0; // eta is 0 while bootstrapping, then the rate the statistics give
    if (tot >= o.bootstrap) {
      // End of bootstrap: inflate the second moments so the first rates start small.
      const C = o.slowStart;
      nv = C * (nv + eps);
      nh = C * (nh + eps);
      if (fd) nvh = C * C * (nvh + eps);
      ntau = tot;
      neta = rate(o, ng, nv, nh, nvh, ntau, effRows(o, rw?.neff, n, m, np));
    } else {
      ntau = -tot;
    }
    const written = [ng, nv, nh, ntau, neta];
    if (fd) written.push(nvh);
    if (global) written.push(np);
    if (!allStorable(written)) {
      stats.skipped++;
      return;
    }
    s.g[i] = ng;
    s.v[i] = nv;
    s.h[i] = nh;
    s.vh[i] = nvh;
    s.p[i] = np;
    s.tau[i] = ntau;
    s.eta[i] = neta;
    stats.touched++;
    return;
  }

  // Regular step: batch means over the m active rows.
  const gm = sumG / m;
  const q = sumG2 / m;
  const cm = sumC / m;
  const c2 = sumC2 / m;

  // Outlier test: a batch far from the running estimate enlarges the memory's share of the new
  // sample (τ + 1 makes r larger) so the averages can catch up quickly.
  let t = tau;
  let outlier = false;
  const k = o.outlierSigmas;
  if (k > 0) {
    const gradOut = Math.abs(gm - g) > k * Math.sqrt(Math.max(v - g * g, 0));
    const curvOut = fd && extra !== null && Math.abs(cm - h) > k * Math.sqrt(Math.max(vh - h * h, 0));
    if (gradOut || curvOut) {
      t += 1;
      outlier = true;
    }
  }

  const r = 1 / t;
  const ng = (1 - r) * g + r * gm;
  const nv = (1 - r) * v + r * q;
  let nh = h;
  let nvh = vh;
  if (extra !== null) {
    nh = (1 - r) * h + r * cm;
    if (fd) nvh = (1 - r) * vh + r * c2;
  }
  const np = global ? (1 - r) * p + (r * m) / n : p;

  const ne = effRows(o, rw?.neff, n, m, np);

  const g2 = ng * ng;
  // v ≥ g² in exact arithmetic keeps this factor in [0, 1]; rounding can push g² past v + ε
  // when the variance is below float precision, and a negative factor would drive τ below 1.
  const ntau = Math.max(1 - g2 / (nv + eps), 0) * t + 1;
  const eta = rate(o, ng, nv, nh, nvh, ntau, ne);
  const nth = rw ? theta[i] - eta * rw.dir[i] : theta[i] - (eta * sumG) / ne;

  const written = [ng, nv, ntau, eta, nth];
  if (extra !== null) {
    written.push(nh);
    if (fd) written.push(nvh);
  }
  if (global) written.push(np);
  if (!allStorable(written)) {
    stats.skipped++;
    return; // the outlier (if any) is not counted either: nothing happened
  }
  s.g[i] = ng;
  s.v[i] = nv;
  s.h[i] = nh;
  s.vh[i] = nvh;
  s.p[i] = np;
  s.tau[i] = ntau;
  s.eta[i] = eta;
  theta[i] = nth;
  stats.touched++;
  if (outlier) stats.outliers++;
}

function baselineCoordinate(
  o: RefOptions,
  theta: Float64Array,
  s: RefState,
  grads: ArrayLike<number>,
  n: number,
  d: number,
  t: number,
  i: number,
  stats: RefStats,
): void {
  if (n === 0) return; // no rows: nothing to do (m = n = 0 means untouched)
  const eps = o.epsilon;
  let sumG = 0;
  let sumG2 = 0;
  let bad = false;
  for (let j = 0; j < n; j++) {
    const x = grads[j * d + i];
    if (!Number.isFinite(x)) bad = true;
    sumG += x;
    sumG2 += x * x;
  }
  if (bad) {
    stats.skipped++;
    return;
  }
  const gm = sumG / n;
  const q = sumG2 / n;

  let ng = s.g[i];
  let nv = s.v[i];
  let nth: number;
  const written: number[] = [];
  switch (o.algo) {
    case 'sgd':
      nth = theta[i] - (o.lr / (1 + o.decay * t)) * gm;
      break;
    case 'adagrad':
      nv = s.v[i] + gm * gm; // running sum of squared mean gradients
      nth = theta[i] - (o.lr * gm) / (Math.sqrt(nv) + eps);
      written.push(nv);
      break;
    case 'natural': {
      // Diagonal empirical Fisher: average of q with memory growing to 100 updates.
      const r = 1 / Math.min(t + 1, 100);
      nv = (1 - r) * s.v[i] + r * q;
      nth = theta[i] - (o.lr * gm) / (nv + eps);
      written.push(nv);
      break;
    }
    case 'adam': {
      ng = o.beta1 * s.g[i] + (1 - o.beta1) * gm;
      nv = o.beta2 * s.v[i] + (1 - o.beta2) * gm * gm;
      const gHat = ng / (1 - Math.pow(o.beta1, t + 1));
      const vHat = nv / (1 - Math.pow(o.beta2, t + 1));
      nth = theta[i] - (o.lr * gHat) / (Math.sqrt(vHat) + eps);
      written.push(ng, nv);
      break;
    }
    default:
      throw new Error(`unknown algo ${String(o.algo)}`);
  }
  written.push(nth);
  if (!allStorable(written)) {
    stats.skipped++;
    return;
  }
  s.g[i] = ng;
  s.v[i] = nv;
  theta[i] = nth;
  stats.touched++;
}

// ---- Seeded randomness for tests -----------------------------------------------------------

/** mulberry32: tiny 32-bit-state generator, uniform in [0, 1). Deterministic per seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal via Box–Muller (uses two uniforms, returns one value; no hidden cache). */
export function gauss(r: () => number): number {
  const u1 = 1 - r(); // in (0, 1], so the log is finite
  const u2 = r();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
