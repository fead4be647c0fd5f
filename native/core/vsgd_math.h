// The per-coordinate math of every algorithm (docs/algorithm.md states it).
// This is the only place the algorithms' arithmetic lives: the CPU loop and the CUDA kernel
// both call these functions, coordinate by coordinate.
#pragma once
#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define VSGD_HD __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define VSGD_HD inline __attribute__((always_inline))  // one fused loop body, no calls per lane
#else
#define VSGD_HD inline
#endif

namespace vsgd {

enum Algo : int { kVsgdFd = 0, kVsgd = 1, kSgd = 2, kAdaGrad = 3, kNatural = 4, kAdam = 5 };
enum Sparsity : int { kDense = 0, kInstance = 1, kGlobal = 2 };
// vSGD-fd's curvature probe and rate (docs/algorithm.md, "Variants"): the paper's, or 'signed':
// probe θ + z⊙δ with random signs z and |δ| the gradient's rms, signed finite differences, and a
// rate whose noise term uses their mean and whose mean-gradient term uses their rms.
enum Variant : int { kPaper = 0, kSigned = 1 };

// What apply() reports for one coordinate; the traversals add these up.
enum Flags : unsigned { kTouched = 1, kSkipped = 2, kOutlier = 4, kBootstrapping = 8 };

// Options fixed at construction plus the per-step scalars set by set_time().
struct Params {
  int algo;
  int sparsity;
  float bootstrap;       // n0, samples gathered before a coordinate moves
  float slow_start;      // C
  float eps;
  float outlier_sigmas;  // k, 0 disables the test
  float lr0, decay, beta1, beta2;
  // per step
  float lr, bc1, bc2, rate;
  // orthogonal reweighting (eq. 5): the step is BatchT::dir and the rate uses neff
  int reweight;
  float neff;
  int variant;  // Variant; vSGD-fd only
};

// Slot of each state field in the state buffer (field f of coordinate i lives at
// state[slot*d + i]); -1 when the algorithm has no such field.
struct Layout {
  int g, v, h, vh, tau, eta, p, count;
};

VSGD_HD constexpr Layout layout(int algo, int sparsity) {
  const int p = sparsity == kGlobal;
  switch (algo) {
    case kVsgdFd: return {0, 1, 2, 3, 4, 5, p ? 6 : -1, 6 + p};
    case kVsgd: return {0, 1, 2, -1, 3, 4, p ? 5 : -1, 5 + p};
    case kAdaGrad:
    case kNatural: return {-1, 0, -1, -1, -1, -1, -1, 1};
    case kAdam: return {0, 1, -1, -1, -1, -1, -1, 2};
    default: return {-1, -1, -1, -1, -1, -1, -1, 0};  // SGD keeps no state
  }
}

VSGD_HD constexpr bool uses_sparsity(int algo) { return algo == kVsgdFd || algo == kVsgd; }

// Per-step scalars that depend only on the update count t (updates done before this one).
VSGD_HD void set_time(Params& P, double t) {
  P.lr = P.lr0;
  if (P.algo == kSgd) P.lr = (float)(P.lr0 / (1.0 + P.decay * t));
  P.bc1 = (float)(1.0 - pow((double)P.beta1, t + 1));
  P.bc2 = (float)(1.0 - pow((double)P.beta2, t + 1));
  P.rate = (float)(1.0 / (t + 1 < 100 ? t + 1 : 100));
}

// ---- Lanes. The math below is written once, as templates over a lane type F: `float` (one
// coordinate: the CUDA kernel, the CPU's block tails) or an 8-lane float vector (the CPU's
// SIMD loop, cpu_simd.h). A lane type brings arithmetic, comparisons giving its mask type, and
// the free functions vsqrt, vabs, vmax, vmin, visfinite, vnot. Uniform choices (algorithm,
// options) stay plain `if`s and `?:` on scalars; per-lane choices are selects, never branches.
template <class F> struct Lanes;
template <class F> using mask_t = typename Lanes<F>::M;

VSGD_HD bool finite(float x) {
#if defined(__CUDA_ARCH__)
  return fabsf(x) <= 3.402823466e38f;  // false for NaN and ±inf
#else
  return std::isfinite(x);
#endif
}

template <> struct Lanes<float> {
  using M = bool;
  using U = uint32_t;  // unsigned integer lanes (the probe's random signs)
  static VSGD_HD float sqrt(float x) { return sqrtf(x); }
  static VSGD_HD float abs(float x) { return fabsf(x); }
  static VSGD_HD float max(float a, float b) { return fmaxf(a, b); }
  static VSGD_HD float min(float a, float b) { return fminf(a, b); }
  static VSGD_HD bool isfinite(float x) { return finite(x); }
    // (na·a + nb·b) / (na + nb) with the sum in double: a running mean whose old part and new
  // batch nearly cancel keeps its digits
  static VSGD_HD float wmean(float a, float na, float b, float nb) {
    return (float)(((double)na * a + (double)nb * b) / ((double)na + nb));
  }
  static VSGD_HD uint32_t ubits(float x) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
#endif
  }
  static VSGD_HD uint32_t index(size_t i) { return (uint32_t)i; }
  static VSGD_HD float sign(uint32_t top) { return top ? -1.0f : 1.0f; }
};
template <class F> VSGD_HD F vsqrt(F x) { return Lanes<F>::sqrt(x); }
template <class F> VSGD_HD F vabs(F x) { return Lanes<F>::abs(x); }
template <class F> VSGD_HD F vmax(F a, F b) { return Lanes<F>::max(a, b); }
template <class F> VSGD_HD F vmin(F a, F b) { return Lanes<F>::min(a, b); }
template <class F> VSGD_HD mask_t<F> visfinite(F x) { return Lanes<F>::isfinite(x); }
template <class F> VSGD_HD F wmean(F a, F na, F b, F nb) { return Lanes<F>::wmean(a, na, b, nb); }
template <class F> using ulanes_t = typename Lanes<F>::U;
template <class M> VSGD_HD bool any_lane(M m) { return m; }
template <class M> VSGD_HD M vnot(M m) { return !m; }
template <class F> VSGD_HD F bc(float x) { return F{} + x; }  // broadcast

template <class F> struct CoordT {
  F g, v, h, vh, tau, eta, p;
};
using Coord = CoordT<float>;

VSGD_HD Coord load(const Layout& L, const float* s, size_t d, size_t i) {
  Coord c{0, 0, 0, 0, 0, 0, 0};
  if (L.g >= 0) c.g = s[L.g * d + i];
  if (L.v >= 0) c.v = s[L.v * d + i];
  if (L.h >= 0) c.h = s[L.h * d + i];
  if (L.vh >= 0) c.vh = s[L.vh * d + i];
  if (L.tau >= 0) c.tau = s[L.tau * d + i];
  if (L.eta >= 0) c.eta = s[L.eta * d + i];
  if (L.p >= 0) c.p = s[L.p * d + i];
  return c;
}

VSGD_HD void store(const Layout& L, float* s, size_t d, size_t i, const Coord& c) {
  if (L.g >= 0) s[L.g * d + i] = c.g;
  if (L.v >= 0) s[L.v * d + i] = c.v;
  if (L.h >= 0) s[L.h * d + i] = c.h;
  if (L.vh >= 0) s[L.vh * d + i] = c.vh;
  if (L.tau >= 0) s[L.tau * d + i] = c.tau;
  if (L.eta >= 0) s[L.eta * d + i] = c.eta;
  if (L.p >= 0) s[L.p * d + i] = c.p;
}

// ---- Batch sums of one coordinate over its active rows. Summed in double: a mean that is
// small against its terms (noisy gradients) would otherwise lose digits, and sums of squares
// of large float32 values would overflow before the mean is formed.
using acc_t = double;
struct Acc {
  acc_t m;       // active rows
  acc_t s1, s2;  // sum of gradients, of squared gradients
  acc_t c1, c2;  // sum of curvatures, of squared curvatures
  int bad;       // a non-finite input among the active rows
};

VSGD_HD Acc acc_zero() { return Acc{0, 0, 0, 0, 0, 0}; }

// A row is active for a coordinate unless sparse rates are on and its entry is zero
// (NaN is non-zero, so it is active and then refused).
VSGD_HD bool active(int sparsity, float x) { return sparsity == kDense || x != 0.0f; }

// One gradient entry into the sums (scalar references, so that callers may keep the sums in
// registers or in structure-of-arrays blocks).
VSGD_HD void acc_grad(int sparsity, float x, acc_t& m, acc_t& s1, acc_t& s2, int& bad) {
  const bool on = active(sparsity, x);
  const acc_t xd = on ? (acc_t)x : 0.0;
  m += on ? 1.0 : 0.0;
  s1 += xd;
  s2 += xd * xd;
  bad |= (int)(on & !finite(x));
}
VSGD_HD void acc_grad(Acc& a, int sparsity, float x) { acc_grad(sparsity, x, a.m, a.s1, a.s2, a.bad); }

// Curvature sample of one row: finite difference (vSGD-fd; `scale` from curv_scale(), signed for
// the 'signed' variant) or supplied value (vSGD).
VSGD_HD void acc_curv(int algo, int sparsity, bool sgn, float x, float extra, float scale, acc_t& c1, acc_t& c2, int& bad) {
  const bool on = active(sparsity, x);
  const acc_t raw = algo != kVsgdFd ? (acc_t)fabsf(extra) : sgn ? (acc_t)(extra - x) * scale : (acc_t)fabsf(x - extra) * scale;
  const acc_t c = on ? raw : 0.0;
  c1 += c;
  c2 += c * c;
  bad |= (int)(on & !finite(extra));
}
VSGD_HD void acc_curv(Acc& a, const Params& P, float x, float extra, float scale) {
  acc_curv(P.algo, P.sparsity, P.variant == kSigned, x, extra, scale, a.c1, a.c2, a.bad);
}

// The batch as the update reads it: the active-row count and the means over those rows
// (0 when there are none), formed in double and then rounded, so that a sum beyond the float
// range with a mean within it is not lost.
template <class F> struct BatchT {
  F m, g1, g2, c1, c2;  // rows, mean ∇, mean ∇², mean c, mean c²
  mask_t<F> bad;
  F dir;                // with reweighting: Σ_j w_j ∇_j
};
// The mean of a sum over m rows, as sum · (1/m): one division per coordinate for its five means
// (sums are 0 when m is; 1/1 then keeps the division unconditional, so loops vectorize).
VSGD_HD acc_t inv_count(acc_t m) { return 1.0 / (m > 0.0 ? m : 1.0); }
VSGD_HD float mean_of(acc_t sum, acc_t inv) { return (float)(sum * inv); }
VSGD_HD BatchT<float> batch(const Acc& a) {
  const acc_t inv = inv_count(a.m);
  return BatchT<float>{(float)a.m, mean_of(a.s1, inv), mean_of(a.s2, inv), mean_of(a.c1, inv), mean_of(a.c2, inv), a.bad != 0};
}

// Probe offset δ of the paper: the mean gradient (while bootstrapping, over the samples seen so
// far and this step's active rows), kept at least eps away from zero so the finite difference is
// defined.
template <class F> VSGD_HD F probe_offset(F g, F tau, F m, F g1, float eps) {
  const mask_t<F> boot = tau <= 0.0f;
  F delta = g;
  if (any_lane(boot)) {  // uniform: skipped once no lane is bootstrapping
    const F seen = boot ? -tau : bc<F>(0), total = seen + m;
    delta = boot ? wmean(g, seen, g1, total > 0.0f ? m : bc<F>(1)) : g;
  }
  delta = visfinite(delta) ? delta : bc<F>(eps);  // bad inputs: the update skips this coordinate anyway
  return vabs(delta) < eps ? (delta < 0.0f ? bc<F>(-eps) : bc<F>(eps)) : delta;
}

// The random sign z_i of the 'signed' probe: a hash of the coordinate's index and of the float bits
// of its g and v. It changes whenever the coordinate's statistics do, and the probe and the update
// that follows it read the same state, so both see the same sign on every backend, dense or
// sparse rows alike (a coordinate that no row touches keeps its sign, as it keeps its state).
template <class F> VSGD_HD F probe_sign(size_t i, F g, F v) {
  using U = ulanes_t<F>;
  U h = (Lanes<F>::index(i) * 0x9e3779b1u) ^ Lanes<F>::ubits(g) ^ (Lanes<F>::ubits(v) * 0x85ebca77u);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  h *= 0x297a2d39u;
  h ^= h >> 15;
  return Lanes<F>::sign(h >> 31);
}

// What a probe offset is formed from: the coordinate's g, v, tau, its index, and this step's active
// rows (their count and their means of ∇ and ∇²; zeros when there are none or after bootstrap).
template <class F> struct ProbeIn {
  F g, v, tau, m, g1, g2;
  size_t i;
};

// The probe offset of either variant. 'signed': z_i·max(sqrt(v), eps), v the mean of ∇² (while
// bootstrapping over the samples seen so far and this step's active rows).
template <class F> VSGD_HD F probe_offset(const Params& P, const ProbeIn<F>& a) {
  if (P.variant != kSigned) return probe_offset<F>(a.g, a.tau, a.m, a.g1, P.eps);
  const mask_t<F> boot = a.tau <= 0.0f;
  F sq = a.v;
  if (any_lane(boot)) {
    const F seen = boot ? -a.tau : bc<F>(0), total = seen + a.m;
    sq = boot ? wmean(a.v, seen, a.g2, total > 0.0f ? a.m : bc<F>(1)) : a.v;
  }
  F size = vsqrt(vmax(sq, bc<F>(0)));
  size = visfinite(size) & (size >= P.eps) ? size : bc<F>(P.eps);
  return probe_sign<F>(a.i, a.g, a.v) * size;
}

// What multiplies ∇' − ∇ to make a curvature sample: 1/|δ| for the paper's |∇' − ∇|/|δ|, 1/δ for
// the signed (∇' − ∇)/δ (acc_curv takes the absolute value or not).
template <class F> VSGD_HD F curv_scale(const Params& P, F delta) {
  return P.variant == kSigned ? 1.0f / delta : 1.0f / vabs(delta);
}

// The probe offset of one coordinate from its state and batch sums (i: its index).
VSGD_HD float probe_offset(const Params& P, const Coord& c, const Acc& a, size_t i) {
  const acc_t inv = inv_count(a.m);
  return probe_offset<float>(P, ProbeIn<float>{c.g, c.v, c.tau, (float)a.m, mean_of(a.s1, inv), mean_of(a.s2, inv), i});
}
// The next step's probe offset from a coordinate's new state, as an update writes it (exact once
// bootstrap is over; a bootstrapping caller probes with its rows instead).
template <class F> VSGD_HD F next_offset(const Params& P, const CoordT<F>& c, size_t i) {
  return probe_offset<F>(P, ProbeIn<F>{c.g, c.v, c.tau, F{}, F{}, F{}, i});
}

template <class M> struct Outcome {
  M touched, skipped, outlier, boot;
};

template <class F> VSGD_HD mask_t<F> all_finite(const CoordT<F>& c, F theta) {
  return visfinite(c.g) & visfinite(c.v) & visfinite(c.h) & visfinite(c.vh) & visfinite(c.tau) &
         visfinite(c.eta) & visfinite(c.p) & visfinite(theta);
}

// Field by field, so that it stays a select (a whole-struct copy would become a branch).
template <class F> VSGD_HD void commit(mask_t<F> keep, CoordT<F>& s, const CoordT<F>& t, F& theta, F th) {
  s.g = keep ? t.g : s.g;
  s.v = keep ? t.v : s.v;
  s.h = keep ? t.h : s.h;
  s.vh = keep ? t.vh : s.vh;
  s.tau = keep ? t.tau : s.tau;
  s.eta = keep ? t.eta : s.eta;
  s.p = keep ? t.p : s.p;
  theta = keep ? th : theta;
}

// The paper's rate: (h/vh)·n g²/(v + (n−1) g²) for vSGD-fd, n g²/(v + (n−1) g²)/h for vSGD.
template <class F> VSGD_HD F paper_rate(bool fd, F g2, F v, F h, F vh, F ne, float eps) {
  const F base = ne * g2 / (v + (ne - 1.0f) * g2 + eps);
  return fd ? (h + eps) / (vh + eps) * base : base / (h + eps);
}

// The 'signed' rate. The paper's rate is ne g² / (h (v − g²) + h ne g²): the curvature h weighs
// the gradient noise v − g² and the mean gradient alike. With signed samples c the two get their
// own: the noise, spread over directions, sees the curvature's mean |h| (the off-diagonal terms of
// the random-sign probe cancel in it), plus half its standard error over the τ·ne samples of the
// memory; the mean gradient, a step of all coordinates together, sees their rms sqrt(vh), which
// keeps the off-diagonal terms. In one dimension, with steady curvature, it is the paper's vSGD
// rate.
template <class F> VSGD_HD F signed_rate(F g, F v, F h, F vh, F tau, F ne, float eps) {
  const F g2 = g * g;
  const F noise_h = vabs(h) + 0.5f * vsqrt(vmax(vh - h * h, bc<F>(0)) / (tau * ne));
  return ne * g2 / ((noise_h + eps) * (vmax(v - g2, bc<F>(0)) + eps) + (vsqrt(vh) + eps) * ne * g2);
}

// vSGD-fd and vSGD: one step of one coordinate. `curv` says whether curvature rows came.
// Both the bootstrap and the regular candidate are formed, then one is kept.
template <class F> VSGD_HD Outcome<mask_t<F>> apply_vsgd(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a, float n, bool curv) {
  using M = mask_t<F>;
  const bool fd = P.algo == kVsgdFd, global = P.sparsity == kGlobal;
  const float eps = P.eps, C = P.slow_start, k = P.outlier_sigmas;
  const M boot = s.tau <= 0.0f;
  // no active row: untouched; bootstrap gathers curvature with every sample; non-finite
  // input never enters state
  const M any = a.m > 0.0f;
  const M ready = curv ? any : any & vnot<M>(boot);
  const M go = ready & vnot<M>(a.bad), skip = ready & a.bad;
  const F m1 = a.m > 0.0f ? a.m : bc<F>(1);

  // regular step: outlier test, moving averages with r = 1/tau, rate, memory, parameter
  const F gb = a.g1, q = a.g2, cb = a.c1, c2 = a.c2;
  const M out_g = vabs(gb - s.g) > k * vsqrt(vmax(s.v - s.g * s.g, bc<F>(0)));
  const M out_c = vabs(cb - s.h) > k * vsqrt(vmax(s.vh - s.h * s.h, bc<F>(0)));
  const M outlier = k > 0.0f ? (fd && curv ? out_g | out_c : out_g) : (out_g & vnot<M>(out_g));
  const F tau = s.tau + (outlier ? bc<F>(1) : bc<F>(0));  // forget faster: the memory widens by one
  const F r = 1.0f / tau;
  const F rg = (1.0f - r) * s.g + r * gb;
  const F rv = (1.0f - r) * s.v + r * q;
  const F rh = curv ? (1.0f - r) * s.h + r * cb : s.h;
  const F rvh = curv && fd ? (1.0f - r) * s.vh + r * c2 : s.vh;
  const F rp = (1.0f - r) * s.p + r * (a.m / n);
  const F ne = P.reweight ? bc<F>(P.neff)
               : P.sparsity == kInstance ? a.m
               : global ? vmin(vmax(n * rp, bc<F>(1)), bc<F>(n))
               : bc<F>(n);
  const F g2 = rg * rg;
  // in [0, 1] exactly (v >= g^2); clamped because rounding may break that when the variance
  // is below float precision, and tau < 1 would make r > 1 and the averages extrapolate
  const F rtau = vmax(1.0f - g2 / (rv + eps), bc<F>(0)) * tau + 1.0f;
  const F eta = fd && P.variant == kSigned ? signed_rate<F>(rg, rv, rh, rvh, rtau, ne, eps) : paper_rate<F>(fd, g2, rv, rh, rvh, ne, eps);
  const F rth = theta - eta * (P.reweight ? a.dir : gb * (a.m / ne));  // the step is Σ∇/ne

  CoordT<F> t{rg, rv, rh, fd ? rvh : s.vh, rtau, eta, global ? rp : s.p};
  if (any_lane(boot)) {  // uniform: skipped once no lane is bootstrapping
    // bootstrap: running plain means, then over-estimates that make the first rates small
    const F seen = boot ? -s.tau : bc<F>(0), total = seen + m1;
    const M done = total >= P.bootstrap;
    const F bv = wmean(s.v, seen, a.g2, m1), bh = wmean(s.h, seen, a.c1, m1);
    t.g = boot ? wmean(s.g, seen, a.g1, m1) : t.g;
    t.v = boot ? (done ? C * (bv + eps) : bv) : t.v;
    t.h = boot ? (done ? C * (bh + eps) : bh) : t.h;
    if (fd) {
      const F bvh = wmean(s.vh, seen, a.c2, m1);
      t.vh = boot ? (done ? C * C * (bvh + eps) : bvh) : t.vh;
    }
    t.tau = boot ? (done ? total : -total) : t.tau;
    t.eta = boot ? s.eta : t.eta;
    if (global) t.p = boot ? s.p + (a.m / n - s.p) * (a.m / total) : t.p;
  }
  const F th = boot ? theta : rth;

  const M keep = go & all_finite(t, th);  // overflow: keep the old values
  commit(keep, s, t, theta, th);
  Outcome<M> o;
  o.touched = keep;
  o.skipped = skip | (go & vnot<M>(keep));
  o.outlier = keep & vnot<M>(boot) & outlier;
  o.boot = keep ? t.tau <= 0.0f : boot;
  return o;
}

// The baselines step with the plain mean over all rows.
template <class F> VSGD_HD Outcome<mask_t<F>> apply_baseline(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a) {
  using M = mask_t<F>;
  const F gb = a.g1, q = a.g2;
  CoordT<F> t = s;
  F th = theta;
  if (P.algo == kSgd) {
    th = theta - P.lr * gb;
  } else if (P.algo == kAdaGrad) {
    t.v = s.v + gb * gb;
    th = theta - P.lr * gb / (vsqrt(t.v) + P.eps);
  } else if (P.algo == kNatural) {
    t.v = (1.0f - P.rate) * s.v + P.rate * q;
    th = theta - P.lr * gb / (t.v + P.eps);
  } else {  // Adam
    t.g = P.beta1 * s.g + (1.0f - P.beta1) * gb;
    t.v = P.beta2 * s.v + (1.0f - P.beta2) * gb * gb;
    th = theta - P.lr * (t.g / P.bc1) / (vsqrt(t.v / P.bc2) + P.eps);
  }
  const M any = a.m > 0.0f;
  const M keep = any & vnot<M>(a.bad) & all_finite(t, th);
  commit(keep, s, t, theta, th);
  Outcome<M> o;
  o.touched = keep;
  o.skipped = any & vnot<M>(keep);
  o.outlier = o.boot = keep & vnot<M>(keep);  // baselines have neither
  return o;
}

template <class F> VSGD_HD Outcome<mask_t<F>> apply(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a, float n, bool curv) {
  return uses_sparsity(P.algo) ? apply_vsgd(P, s, theta, a, n, curv) : apply_baseline(P, s, theta, a);
}

// One coordinate from its double sums (and, with reweighting, its direction Σ_j w_j ∇_j), with
// the outcome as Flags bits.
VSGD_HD unsigned apply(const Params& P, Coord& s, float& theta, const Acc& a, float n, bool curv, acc_t dir = 0.0) {
  BatchT<float> b = batch(a);
  b.dir = (float)dir;
  const Outcome<bool> o = apply<float>(P, s, theta, b, n, curv);
  return (o.touched ? (unsigned)kTouched : 0u) | (o.skipped ? (unsigned)kSkipped : 0u) |
         (o.outlier ? (unsigned)kOutlier : 0u) | (o.boot ? (unsigned)kBootstrapping : 0u);
}

// Orthogonal reweighting (eq. 5), once per step from the Gram matrix G (n x n, row-major) of the
// rows: a_jk = |G_jk| / (|j| |k|), w_j = 1 / Σ_k a_jk. Returns n_eff = n / Σ_j w_j, in [1, n]:
// n when all rows are aligned (w = 1/n, the plain mean), 1 when they are orthogonal (w = 1, the
// sum). A zero row gets w = 0. G is formed with non-finite entries taken as 0 (gram_entry), so
// one bad entry costs its own coordinate only (it is skipped), not every weight.
VSGD_HD double gram_entry(float x) { return fabsf(x) <= 3.40282347e38f ? (double)x : 0.0; }
template <class W> VSGD_HD double reweight(const double* G, int n, W* w) {
  double total = 0.0;
  for (int j = 0; j < n; ++j) {
    const double nj = sqrt(G[j * n + j]);
    double sum = 0.0;
    for (int k = 0; k < n; ++k) {
      const double nk = sqrt(G[k * n + k]);
      if (nj > 0.0 && nk > 0.0) sum += fabs(G[j * n + k]) / (nj * nk);
    }
    w[j] = (W)(sum > 0.0 ? 1.0 / sum : 0.0);
    total += w[j];
  }
  return total > 0.0 ? n / total : (double)n;
}

// The reweighted direction Σ_j w_j ∇_j, one row entry at a time.
VSGD_HD void acc_dir(acc_t w, float x, acc_t& dir) { dir += w * x; }

// Whether a coordinate must see its gradient sums before its curvature can be formed.
VSGD_HD constexpr bool needs_offset(int algo) { return algo == kVsgdFd; }

}  // namespace vsgd
