// The per-coordinate math of every algorithm (see docs/algorithm.md and SPEC.md).
// This is the only place the algorithms' arithmetic lives: the CPU loop and the CUDA kernel
// both call these functions, coordinate by coordinate.
#pragma once
#include <math.h>

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define VSGD_HD __host__ __device__ __forceinline__
#else
#define VSGD_HD inline
#endif

namespace vsgd {

enum Algo : int { kVsgdFd = 0, kVsgd = 1, kSgd = 2, kAdaGrad = 3, kNatural = 4, kAdam = 5 };
enum Sparsity : int { kDense = 0, kInstance = 1, kGlobal = 2 };

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
};

// Slot of each state field in the state buffer (field f of coordinate i lives at
// state[slot*d + i]); -1 when the algorithm has no such field.
struct Layout {
  int g, v, h, vh, tau, eta, p, count;
};

VSGD_HD Layout layout(int algo, int sparsity) {
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

VSGD_HD bool uses_sparsity(int algo) { return algo == kVsgdFd || algo == kVsgd; }

// Per-step scalars that depend only on the update count t (updates done before this one).
VSGD_HD void set_time(Params& P, double t) {
  P.lr = P.lr0;
  if (P.algo == kSgd) P.lr = (float)(P.lr0 / (1.0 + P.decay * t));
  P.bc1 = (float)(1.0 - pow((double)P.beta1, t + 1));
  P.bc2 = (float)(1.0 - pow((double)P.beta2, t + 1));
  P.rate = (float)(1.0 / (t + 1 < 100 ? t + 1 : 100));
}

struct Coord {
  float g, v, h, vh, tau, eta, p;
};

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

// Batch sums of one coordinate over its active rows. Summed in double: a mean that is small
// against its terms (noisy gradients) would otherwise lose digits, and sums of squares of
// large float32 values would overflow before the mean is formed.
using acc_t = double;
struct Acc {
  acc_t m;       // active rows
  acc_t s1, s2;  // sum of gradients, of squared gradients
  acc_t c1, c2;  // sum of curvatures, of squared curvatures
  bool bad;      // a non-finite input among the active rows
};

VSGD_HD Acc acc_zero() { return Acc{0, 0, 0, 0, 0, false}; }

VSGD_HD bool finite(float x) {
#if defined(__CUDA_ARCH__)
  return isfinite(x);
#else
  return std::isfinite(x);
#endif
}

// A row is active for a coordinate unless sparse rates are on and its entry is zero
// (NaN is non-zero, so it is active and then refused).
VSGD_HD bool active(int sparsity, float x) { return sparsity == kDense || x != 0.0f; }

VSGD_HD void acc_grad(Acc& a, int sparsity, float x) {
  if (!active(sparsity, x)) return;
  a.m += 1.0;
  a.s1 += x;
  a.s2 += (acc_t)x * x;
  a.bad |= !finite(x);
}

// Probe offset δ: the mean gradient (while bootstrapping, over the samples seen so far and
// this step's active rows), kept at least eps away from zero so the finite difference is defined.
VSGD_HD float probe_offset(const Coord& c, const Acc& a, float eps) {
  float delta = c.g;
  if (c.tau <= 0.0f) {
    const acc_t seen = -c.tau, total = seen + a.m;
    delta = total > 0.0 ? (float)((seen * c.g + a.s1) / total) : 0.0f;
  }
  if (!finite(delta)) delta = eps;  // bad inputs: the update skips this coordinate anyway
  if (fabsf(delta) < eps) delta = delta < 0.0f ? -eps : eps;
  return delta;
}

// Curvature sample of one row: finite difference (vSGD-fd) or supplied value (vSGD).
VSGD_HD void acc_curv(Acc& a, int algo, int sparsity, float x, float extra, float inv_delta) {
  if (!active(sparsity, x)) return;
  const acc_t c = algo == kVsgdFd ? (acc_t)fabsf(x - extra) * inv_delta : fabsf(extra);
  a.c1 += c;
  a.c2 += c * c;
  a.bad |= !finite(extra);
}

VSGD_HD bool all_finite(const Coord& c, float theta) {
  return finite(c.g) && finite(c.v) && finite(c.h) && finite(c.vh) && finite(c.tau) &&
         finite(c.eta) && finite(c.p) && finite(theta);
}

// vSGD-fd and vSGD: one step of one coordinate. `curv` says whether curvature rows came.
VSGD_HD unsigned apply_vsgd(const Params& P, Coord& s, float& theta, const Acc& a, float n, bool curv) {
  const unsigned boot = s.tau <= 0.0f ? kBootstrapping : 0u;
  if (a.m == 0.0) return boot;                  // no active row: untouched
  if (boot && !curv) return boot;               // bootstrap gathers curvature with every sample
  if (a.bad) return kSkipped | boot;            // non-finite input never enters state
  const bool fd = P.algo == kVsgdFd;
  const float eps = P.eps;
  Coord t = s;
  float th = theta;
  unsigned flags = kTouched;
  if (boot) {
    const acc_t seen = -t.tau, total = seen + a.m;
    t.g = (float)((seen * t.g + a.s1) / total);
    t.v = (float)((seen * t.v + a.s2) / total);
    t.h = (float)((seen * t.h + a.c1) / total);
    if (fd) t.vh = (float)((seen * t.vh + a.c2) / total);
    if (P.sparsity == kGlobal) t.p += (float)((a.m / n - t.p) * (a.m / total));
    if (total >= P.bootstrap) {
      // over-estimates make the first rates small (slow start)
      const float C = P.slow_start;
      t.v = C * (t.v + eps);
      t.h = C * (t.h + eps);
      if (fd) t.vh = C * C * (t.vh + eps);
      t.tau = (float)total;
    } else {
      t.tau = (float)-total;
      flags |= kBootstrapping;
    }
  } else {
    const float m = (float)a.m;
    const float gb = (float)(a.s1 / a.m), q = (float)(a.s2 / a.m), cb = (float)(a.c1 / a.m), c2 = (float)(a.c2 / a.m);
    const float k = P.outlier_sigmas;
    if (k > 0.0f) {
      bool out = fabsf(gb - t.g) > k * sqrtf(fmaxf(t.v - t.g * t.g, 0.0f));
      if (fd && curv) out = out || fabsf(cb - t.h) > k * sqrtf(fmaxf(t.vh - t.h * t.h, 0.0f));
      if (out) {
        t.tau += 1.0f;  // forget faster: the memory is widened by one
        flags |= kOutlier;
      }
    }
    const float r = 1.0f / t.tau;
    t.g = (1.0f - r) * t.g + r * gb;
    t.v = (1.0f - r) * t.v + r * q;
    if (curv) {
      t.h = (1.0f - r) * t.h + r * cb;
      if (fd) t.vh = (1.0f - r) * t.vh + r * c2;
    }
    float ne = n;
    if (P.sparsity == kInstance) ne = m;
    if (P.sparsity == kGlobal) {
      t.p = (1.0f - r) * t.p + r * (m / n);
      ne = fminf(fmaxf(n * t.p, 1.0f), n);
    }
    const float g2 = t.g * t.g;
    const float base = ne * g2 / (t.v + (ne - 1.0f) * g2 + eps);
    const float eta = fd ? (t.h + eps) / (t.vh + eps) * base : base / (t.h + eps);
    // in [0, 1] exactly (v >= g^2); clamped because rounding may break that when the variance
    // is below float precision, and tau < 1 would make r > 1 and the averages extrapolate
    t.tau = fmaxf(1.0f - g2 / (t.v + eps), 0.0f) * t.tau + 1.0f;
    th = theta - eta * (float)(a.s1 / ne);
    t.eta = eta;
  }
  if (!all_finite(t, th)) return kSkipped | boot;  // overflow: keep the old values
  s = t;
  theta = th;
  return flags;
}

// The baselines step with the plain mean over all rows.
VSGD_HD unsigned apply_baseline(const Params& P, Coord& s, float& theta, const Acc& a) {
  if (a.bad) return kSkipped;
  if (a.m == 0.0) return 0u;
  const float gb = (float)(a.s1 / a.m);
  Coord t = s;
  float th = theta;
  switch (P.algo) {
    case kSgd:
      th = theta - P.lr * gb;
      break;
    case kAdaGrad:
      t.v = t.v + gb * gb;
      th = theta - P.lr * gb / (sqrtf(t.v) + P.eps);
      break;
    case kNatural:
      t.v = (1.0f - P.rate) * t.v + P.rate * (float)(a.s2 / a.m);
      th = theta - P.lr * gb / (t.v + P.eps);
      break;
    case kAdam: {
      t.g = P.beta1 * t.g + (1.0f - P.beta1) * gb;
      t.v = P.beta2 * t.v + (1.0f - P.beta2) * gb * gb;
      const float mh = t.g / P.bc1, vh = t.v / P.bc2;
      th = theta - P.lr * mh / (sqrtf(vh) + P.eps);
      break;
    }
    default:
      return kSkipped;
  }
  if (!all_finite(t, th)) return kSkipped;
  s = t;
  theta = th;
  return kTouched;
}

VSGD_HD unsigned apply(const Params& P, Coord& s, float& theta, const Acc& a, float n, bool curv) {
  return uses_sparsity(P.algo) ? apply_vsgd(P, s, theta, a, n, curv) : apply_baseline(P, s, theta, a);
}

// Whether a coordinate must see its gradient sums before its curvature can be formed.
VSGD_HD bool needs_offset(int algo) { return algo == kVsgdFd; }

}  // namespace vsgd
