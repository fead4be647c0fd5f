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
  // per step (set_time): SGD's rate, Adam's step size lr/(1 − β1^t) and 1/sqrt(1 − β2^t), the
  // natural gradient's averaging rate
  float lr, adam_step, adam_isb2, rate;
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

// Whether a step stores eta. eta is the rate a coordinate's statistics give (0 while it
// bootstraps), a function of g, v, h, vh (tau under 'signed', p under 'global') and of its last
// update's effective row count ne.
// Where ne is the same for every coordinate (dense rows: n; 'global': from p and n) eta is derived
// from the state when the state is read (derive_eta, traverse.h) and the pass neither loads nor
// stores it. With 'instance' sparsity ne is each coordinate's own count of active rows, and with
// reweighting it comes from the rows' Gram matrix: there the pass stores it.
VSGD_HD bool stores_eta(const Params& P) { return uses_sparsity(P.algo) && (P.sparsity == kInstance || P.reweight); }

// Per-step scalars that depend only on the update count t (updates done before this one).
VSGD_HD void set_time(Params& P, double t) {
  P.lr = P.lr0;
  if (P.algo == kSgd) P.lr = (float)(P.lr0 / (1.0 + P.decay * t));
  P.adam_step = (float)(P.lr0 / (1.0 - pow((double)P.beta1, t + 1)));
  P.adam_isb2 = (float)(1.0 / sqrt(1.0 - pow((double)P.beta2, t + 1)));
  P.rate = (float)(1.0 / (t + 1 < 100 ? t + 1 : 100));
}

// ---- Lanes. The math below is written once, as templates over a lane type F: `float` (one
// coordinate: the CUDA kernel, the sparse rows, the CPU's tails) or an 8-lane float vector (the
// CPU's SIMD loop, cpu_simd.h). A lane type brings arithmetic, comparisons giving its mask type,
// the free functions vsqrt, vabs, vmax, vmin, visfinite, vnot, a wide type W of the same lanes in
// double (for the one sum that must keep its digits, traverse.h), and an unsigned integer type U
// of the same lanes (the 'signed' probe's random signs). Uniform choices
// (algorithm, options) stay plain `if`s and `?:` on scalars; per-lane choices are selects, never
// branches.
template <class F> struct Lanes;
template <class F> using mask_t = typename Lanes<F>::M;
template <class F> using wide_t = typename Lanes<F>::W;
template <class F> using ulanes_t = typename Lanes<F>::U;

VSGD_HD bool finite(float x) {
#if defined(__CUDA_ARCH__)
  return fabsf(x) <= 3.402823466e38f;  // false for NaN and ±inf
#else
  return std::isfinite(x);
#endif
}

template <> struct Lanes<float> {
  using M = bool;
  using W = double;
  using U = uint32_t;
  static VSGD_HD float sqrt(float x) { return sqrtf(x); }
  static VSGD_HD float abs(float x) { return fabsf(x); }
  // b is never NaN where these are used, and then fmaxf(a, b) == (a > b ? a : b), as the vector
  // lanes compute it; on the host fmaxf would be a library call
#if defined(__CUDA_ARCH__)
  static VSGD_HD float max(float a, float b) { return fmaxf(a, b); }
  static VSGD_HD float min(float a, float b) { return fminf(a, b); }
#else
  static VSGD_HD float max(float a, float b) { return a > b ? a : b; }
  static VSGD_HD float min(float a, float b) { return a < b ? a : b; }
#endif
  static VSGD_HD bool isfinite(float x) { return finite(x); }
  // (na·a + nb·b) / (na + nb) with the sum in double: a running mean whose old part and new
  // batch nearly cancel keeps its digits
  static VSGD_HD float wmean(float a, float na, float b, float nb) {
    return (float)(((double)na * a + (double)nb * b) / ((double)na + nb));
  }
  static VSGD_HD double widen(float x) { return (double)x; }
  static VSGD_HD float narrow(double x) { return (float)x; }
  static VSGD_HD uint32_t ubits(float x) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
#endif
  }
  static VSGD_HD uint32_t index(size_t i) { return (uint32_t)i; }  // coordinates i, i+1, ... of the lanes
  static VSGD_HD float sign(uint32_t top) { return top ? -1.0f : 1.0f; }
};
template <class F> VSGD_HD F vsqrt(F x) { return Lanes<F>::sqrt(x); }
template <class F> VSGD_HD F vabs(F x) { return Lanes<F>::abs(x); }
template <class F> VSGD_HD F vmax(F a, F b) { return Lanes<F>::max(a, b); }
template <class F> VSGD_HD F vmin(F a, F b) { return Lanes<F>::min(a, b); }
template <class F> VSGD_HD mask_t<F> visfinite(F x) { return Lanes<F>::isfinite(x); }
template <class F> VSGD_HD F wmean(F a, F na, F b, F nb) { return Lanes<F>::wmean(a, na, b, nb); }
template <class F> VSGD_HD wide_t<F> widen(F x) { return Lanes<F>::widen(x); }
template <class F> VSGD_HD F narrow(wide_t<F> x) { return Lanes<F>::narrow(x); }
template <class M> VSGD_HD bool any_lane(M m) { return m; }
template <class M> VSGD_HD M vnot(M m) { return !m; }
template <class F> VSGD_HD F bc(float x) { return F{} + x; }  // broadcast

// Lane loads and stores (unaligned); the vector lane types specialize them.
template <class F> VSGD_HD F lane_load(const float* p);
template <> VSGD_HD float lane_load<float>(const float* p) { return *p; }
template <class F> VSGD_HD void lane_store(float* p, F v);
template <> VSGD_HD void lane_store<float>(float* p, float v) { *p = v; }
template <class F> VSGD_HD wide_t<F> wide_load(const double* p);
template <> VSGD_HD double wide_load<float>(const double* p) { return *p; }
template <class W> VSGD_HD void wide_store(double* p, W v);
template <> VSGD_HD void wide_store<double>(double* p, double v) { *p = v; }

template <class F> struct CoordT {
  F g, v, h, vh, tau, eta, p;
};

// The batch as the update reads it: the active-row count and the means over those rows (0 when
// there are none), formed from the sums by traverse.h.
template <class F> struct BatchT {
  F m, g1, g2, c1, c2;  // rows, mean ∇, mean ∇², mean c, mean c²
  mask_t<F> bad;        // a non-finite input among the active rows
  F dir;                // with reweighting: Σ_j w_j ∇_j
};

// A row is active for a coordinate unless sparse rates are on and its entry is zero
// (NaN is non-zero, so it is active and then refused).
VSGD_HD constexpr bool all_active(int sparsity) { return sparsity == kDense; }

// Probe offset δ of the paper: the mean gradient (while bootstrapping, over the samples seen so
// far and this step's active rows), kept at least eps away from zero so the finite difference is
// defined.
// BOOT false: the caller knows that no lane bootstraps (tau > 0), and the code for it is left out.
template <bool BOOT = true, class F> VSGD_HD F probe_offset(F g, F tau, F m, F g1, float eps) {
  const mask_t<F> boot = tau <= 0.0f;
  F delta = g;
  if (BOOT && any_lane(boot)) {  // uniform: skipped once no lane is bootstrapping
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
// idx: the lanes' coordinate indices (Lanes<F>::index for consecutive ones).
template <class F> VSGD_HD F probe_sign(ulanes_t<F> idx, F g, F v) {
  using U = ulanes_t<F>;
  U h = (idx * 0x9e3779b1u) ^ Lanes<F>::ubits(g) ^ (Lanes<F>::ubits(v) * 0x85ebca77u);
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
  ulanes_t<F> idx;
};

// The probe offset of either variant. 'signed': z_i·max(sqrt(v), eps), v the mean of ∇² (while
// bootstrapping over the samples seen so far and this step's active rows). BOOT as above.
template <bool BOOT = true, class F> VSGD_HD F probe_offset(const Params& P, const ProbeIn<F>& a) {
  if (P.variant != kSigned) return probe_offset<BOOT>(a.g, a.tau, a.m, a.g1, P.eps);
  const mask_t<F> boot = a.tau <= 0.0f;
  F sq = a.v;
  if (BOOT && any_lane(boot)) {
    const F seen = boot ? -a.tau : bc<F>(0), total = seen + a.m;
    sq = boot ? wmean(a.v, seen, a.g2, total > 0.0f ? a.m : bc<F>(1)) : a.v;
  }
  F size = vsqrt(vmax(sq, bc<F>(0)));
  size = visfinite(size) & (size >= P.eps) ? size : bc<F>(P.eps);
  return probe_sign<F>(a.idx, a.g, a.v) * size;
}

// What multiplies a curvature sample (curv_sample) to make it one of ∇'s change per unit of θ's:
// 1/|δ| for the paper's |∇' − ∇|/|δ|, 1/δ for the signed (∇' − ∇)/δ.
template <class F> VSGD_HD F curv_scale(const Params& P, F delta) {
  return P.variant == kSigned ? 1.0f / delta : 1.0f / vabs(delta);
}
// One row's curvature sample before that scale: |∇ − ∇'| (vSGD-fd, the paper), ∇' − ∇ (vSGD-fd,
// 'signed'), or |the supplied curvature| (vSGD). x: ∇, e: ∇' or the curvature.
template <int ALGO, class F> VSGD_HD F curv_sample(const Params& P, F x, F e) {
  if (ALGO != kVsgdFd) return vabs(e);
  return P.variant == kSigned ? e - x : vabs(x - e);
}

template <class M> struct Outcome {
  M touched, skipped, outlier, boot;
};

// x − x is 0 for a finite x and NaN for ±inf and NaN: one comparison for all eight values.
template <class F> VSGD_HD mask_t<F> all_finite(const CoordT<F>& c, F theta) {
  const F z = ((c.g - c.g) + (c.v - c.v)) + ((c.h - c.h) + (c.vh - c.vh)) + ((c.tau - c.tau) + (c.eta - c.eta)) +
              ((c.p - c.p) + (theta - theta));
  return z == 0.0f;
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

// The new values t, th replace the state where `go` says and all of them are finite (overflow:
// the old values stay); returns where they did. Where every lane goes and the sum of its new
// values is finite, so is each of them (a sum with an infinite or NaN term is not): the common
// case then takes neither the test per value nor the selects, with the same result.
template <class F> VSGD_HD mask_t<F> commit_finite(mask_t<F> go, CoordT<F>& s, const CoordT<F>& t, F& theta, F th) {
  using M = mask_t<F>;
  const F sum = ((t.g + t.v) + (t.h + t.vh)) + ((t.tau + t.eta) + (t.p + th));
  if (!any_lane(vnot<M>(go & visfinite(sum)))) {
    s = t, theta = th;
    return go;
  }
  const M keep = go & all_finite(t, th);
  commit(keep, s, t, theta, th);
  return keep;
}

// The effective number of rows of a step: n (dense rows), m (the coordinate's active rows under
// 'instance'), clamp(n·p, 1, n) ('global'), or n_eff with reweighting.
template <int SP, class F> VSGD_HD F eff_rows(const Params& P, float n, F m, F p) {
  return P.reweight ? bc<F>(P.neff) : SP == kInstance ? m : SP == kGlobal ? vmin(vmax(n * p, bc<F>(1)), bc<F>(n)) : bc<F>(n);
}

// The rate eta of a coordinate from its statistics (g2 = g²) and the effective row count ne:
// rate_of(base(...)). With ne = 1 the base is g²/(v + ε) exactly, which the step has already.
template <class F> VSGD_HD F rate_base(const Params& P, F g2, F v, F ne) { return ne * g2 / (v + (ne - 1.0f) * g2 + P.eps); }
template <int ALGO, class F> VSGD_HD F rate_of(const Params& P, F base, F h, F vh) {
  return ALGO == kVsgdFd ? (h + P.eps) / (vh + P.eps) * base : base / (h + P.eps);
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
  return ne * g2 / ((noise_h + eps) * (vmax(v - g2, bc<F>(0)) + eps * v) + (vsqrt(vh) + eps) * ne * g2 + bc<F>(1e-30f));
}
VSGD_HD bool signed_rate_of(int algo, const Params& P) { return algo == kVsgdFd && P.variant == kSigned; }
// The rate of either variant from a coordinate's statistics, its memory tau and ne.
template <int ALGO, class F> VSGD_HD F rate(const Params& P, F g, F v, F h, F vh, F tau, F ne) {
  if (signed_rate_of(ALGO, P)) return signed_rate<F>(g, v, h, vh, tau, ne, P.eps);
  return rate_of<ALGO>(P, rate_base(P, g * g, v, ne), h, vh);
}

// vSGD-fd and vSGD: one step of one coordinate. `curv` says whether curvature rows came.
// Both the bootstrap and the regular candidate are formed, then one is kept. The algorithm and
// the sparsity mode are compile-time constants, so the choices they make fold away; BOOT false
// says that no lane bootstraps (tau > 0), and leaves the bootstrap candidate out.
template <int ALGO, int SP, bool BOOT, class F>
VSGD_HD Outcome<mask_t<F>> apply_vsgd(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a, float n, bool curv) {
  using M = mask_t<F>;
  constexpr bool fd = ALGO == kVsgdFd, global = SP == kGlobal;
  const float eps = P.eps, C = P.slow_start, k = P.outlier_sigmas;
  const M boot = BOOT ? M(s.tau <= 0.0f) : M{};
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
  // forget faster: the memory widens by one. Both rates come from one division, before the test
  // decides, so that the division does not wait for the square roots.
  const F tau_out = s.tau + 1.0f, both = 1.0f / (s.tau * tau_out);
  const F tau = outlier ? tau_out : s.tau;
  const F r = outlier ? s.tau * both : tau_out * both;
  const F rg = (1.0f - r) * s.g + r * gb;
  const F rv = (1.0f - r) * s.v + r * q;
  const F rh = curv ? (1.0f - r) * s.h + r * cb : s.h;
  const F rvh = curv && fd ? (1.0f - r) * s.vh + r * c2 : s.vh;
  const F rp = global ? (1.0f - r) * s.p + r * (a.m / n) : s.p;
  const F ne = eff_rows<SP>(P, n, a.m, rp);
  const F g2 = rg * rg, ratio = g2 / (rv + eps);
  // in [0, 1] exactly (v >= g^2); clamped because rounding may break that when the variance
  // is below float precision, and tau < 1 would make r > 1 and the averages extrapolate
  const F rtau = vmax(1.0f - ratio, bc<F>(0)) * tau + 1.0f;
  // with one dense row (ne = 1) the paper's rate's base is the ratio, bit for bit
  const bool one = SP == kDense && !P.reweight && n == 1.0f;
  const F eta = signed_rate_of(ALGO, P) ? signed_rate<F>(rg, rv, rh, rvh, rtau, ne, eps)
                                        : rate_of<ALGO>(P, one ? ratio : rate_base(P, g2, rv, ne), rh, rvh);
  // the step is Σ∇/ne = mean·(m/ne), where m/ne is exactly 1 unless 'global' (dense: m = ne = n;
  // 'instance': ne = m, and m = 0 leaves the coordinate untouched)
  const F rth = theta - eta * (P.reweight ? a.dir : global ? gb * (a.m / ne) : gb);

  CoordT<F> t{rg, rv, rh, fd ? rvh : s.vh, rtau, eta, rp};
  // uniform: skipped unless a lane that bootstraps steps (blank inputs bootstrap for good beside
  // active coordinates, and only kept lanes' candidates matter)
  if (BOOT && any_lane(boot & go)) {
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
    if (global) t.p = boot ? s.p + (a.m / n - s.p) * (a.m / total) : t.p;
    // eta: 0 while bootstrapping, then the rate the statistics give (as derive_eta reads it)
    const F eta_done = rate<ALGO>(P, t.g, t.v, t.h, t.vh, t.tau, eff_rows<SP>(P, n, a.m, t.p));
    t.eta = boot ? (done ? eta_done : bc<F>(0)) : t.eta;
  }
  const F th = boot ? theta : rth;

  const M keep = commit_finite(go, s, t, theta, th);
  Outcome<M> o;
  o.touched = keep;
  o.skipped = skip | (go & vnot<M>(keep));
  o.outlier = keep & vnot<M>(boot) & outlier;
  o.boot = keep ? t.tau <= 0.0f : boot;
  return o;
}

// The baselines step with the plain mean over all rows.
template <int ALGO, class F>
VSGD_HD Outcome<mask_t<F>> apply_baseline(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a) {
  using M = mask_t<F>;
  const F gb = a.g1, q = a.g2;
  CoordT<F> t = s;
  F th = theta;
  if (ALGO == kSgd) {
    th = theta - P.lr * gb;
  } else if (ALGO == kAdaGrad) {
    t.v = s.v + gb * gb;
    th = theta - P.lr * gb / (vsqrt(t.v) + P.eps);
  } else if (ALGO == kNatural) {
    t.v = (1.0f - P.rate) * s.v + P.rate * q;
    th = theta - P.lr * gb / (t.v + P.eps);
  } else {  // Adam
    t.g = P.beta1 * s.g + (1.0f - P.beta1) * gb;
    t.v = P.beta2 * s.v + (1.0f - P.beta2) * gb * gb;
    // lr·m̂/(sqrt(v̂) + ε) with m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t): one division and one root
    th = theta - P.adam_step * t.g / (vsqrt(t.v) * P.adam_isb2 + P.eps);
  }
  const M any = a.m > 0.0f;
  const M keep = commit_finite(any & vnot<M>(a.bad), s, t, theta, th);
  Outcome<M> o;
  o.touched = keep;
  o.skipped = any & vnot<M>(keep);
  o.outlier = o.boot = keep & vnot<M>(keep);  // baselines have neither
  return o;
}

// One step of one coordinate (or lane group) from its batch; the state in `s` and `theta`.
template <int ALGO, int SP, bool BOOT, class F>
VSGD_HD Outcome<mask_t<F>> apply(const Params& P, CoordT<F>& s, F& theta, const BatchT<F>& a, float n, bool curv) {
  if constexpr (uses_sparsity(ALGO)) return apply_vsgd<ALGO, SP, BOOT>(P, s, theta, a, n, curv);
  else return apply_baseline<ALGO>(P, s, theta, a);
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

// Whether the algorithm has a probe point (its curvature is a finite difference at θ + δ).
VSGD_HD constexpr bool needs_offset(int algo) { return algo == kVsgdFd; }

}  // namespace vsgd
