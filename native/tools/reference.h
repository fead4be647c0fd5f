// A float64 re-implementation of the optimizer step, written from docs/algorithm.md and the
// conventions stated in vsgd_math.h's comments, for vsgd_selfcheck (selfcheck.cpp, whose
// head lists the conventions). It shares no arithmetic with native/core/vsgd_math.h: it uses only the
// state layout (which slot holds which field) and Params, which are the interface.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend.h"

namespace vsgd_ref {

using vsgd::Layout;

enum : unsigned { fTouched = 1, fSkipped = 2, fOutlier = 4, fBoot = 8 };
inline const char* kAlgoName[] = {"vsgdfd", "vsgd", "sgd", "adagrad", "natural", "adam"};
inline const char* kSparsityName[] = {"dense", "instance", "global"};

struct Opt {  // the options, as the float values the backend sees, widened to double
  int algo, sparsity;
  double n0, C, eps, k, lr0, decay, b1, b2;
  int variant = vsgd::kPaper;  // vSGD-fd's probe and rate (docs/algorithm.md, "Variants")
};

struct Cell {  // one coordinate's state
  double g = 0, v = 0, h = 0, vh = 0, tau = 0, eta = 0, p = 0;
};
enum Field { kG, kV, kH, kVH, kTau, kEta, kP, kFields };
inline const char* kFieldName[] = {"g", "v", "h", "vh", "tau", "eta", "p"};
inline double& field(Cell& c, int f) {
  double* a[] = {&c.g, &c.v, &c.h, &c.vh, &c.tau, &c.eta, &c.p};
  return *a[f];
}
inline double field(const Cell& c, int f) { return field(const_cast<Cell&>(c), f); }
inline void slots(const Layout& L, int s[kFields]) {
  s[kG] = L.g, s[kV] = L.v, s[kH] = L.h, s[kVH] = L.vh, s[kTau] = L.tau, s[kEta] = L.eta, s[kP] = L.p;
}

// What the reference expects of one coordinate. `slack` (index kFields: theta) is an absolute
// allowance added to the relative tolerance where the float result is ill-conditioned: a
// quantity formed by cancellation (the bootstrap mean delta, a moving-average g near 0) carries
// a rounding error of a few float ulps of its terms' size, and quantities divided by it (the
// curvature samples) or built from its square (eta, then theta) inherit that error relatively.
struct RefOut {
  Cell s;
  double theta;
  unsigned flags;
  double slack[kFields + 1] = {0};
};

constexpr double kUlps = 8 * 5.9604644775390625e-8;  // 8 float rounding units (2^-24 each)

inline bool is_vsgd(int algo) { return algo == vsgd::kVsgdFd || algo == vsgd::kVsgd; }

// A value the backend can store: finite and within float range.
inline bool storable(double x) { return std::isfinite(x) && std::fabs(x) <= 3.4028234663852886e38; }

inline bool ref_active(const Opt& o, double x) { return o.sparsity == vsgd::kDense || x != 0.0; }

// docs/algorithm.md, "Orthogonal reweighting" (eq. 5) over whole rows, once per step: n_eff and, per coordinate,
// the direction Σ_j w_j ∇_j and Σ_j |w_j ∇_j| (its size before cancellation, for the slack). The
// weights are rounded to float as the backends pass them. Non-finite entries count as 0 in the
// dot products (docs/algorithm.md); a zero row gets w = 0.
struct RefReweight {
  double neff = 0;
  std::vector<double> dir, size;
};
inline RefReweight ref_reweight(const float* rows, int n, size_t d) {
  std::vector<double> norm(n), w(n);
  auto at = [&](int j, size_t i) {
    const double x = rows[(size_t)j * d + i];
    return std::isfinite(x) ? x : 0.0;
  };
  auto dot = [&](int j, int k) {
    double s = 0;
    for (size_t i = 0; i < d; ++i) s += at(j, i) * at(k, i);
    return s;
  };
  for (int j = 0; j < n; ++j) norm[j] = std::sqrt(dot(j, j));
  double total = 0;
  for (int j = 0; j < n; ++j) {
    double sum = 0;
    for (int k = 0; k < n; ++k)
      if (norm[j] > 0 && norm[k] > 0) sum += std::fabs(dot(j, k)) / (norm[j] * norm[k]);
    w[j] = sum > 0 ? (double)(float)(1 / sum) : 0.0;
    total += w[j];
  }
  RefReweight r;
  r.neff = total > 0 ? n / total : n;
  r.dir.assign(d, 0.0), r.size.assign(d, 0.0);
  for (int j = 0; j < n; ++j)
    for (size_t i = 0; i < d; ++i) {
      const double x = w[j] * rows[(size_t)j * d + i];
      r.dir[i] += x, r.size[i] += std::fabs(x);
    }
  return r;
}

// The random sign of the 'signed' probe for coordinate i: a hash of i and of the float bits of its
// g and v (32-bit arithmetic modulo 2^32), the top bit giving -1.
inline double ref_sign(size_t i, double g, double v) {
  const auto bits = [](double x) {
    const float f = (float)x;
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
  };
  uint32_t h = ((uint32_t)i * 0x9e3779b1u) ^ bits(g) ^ (bits(v) * 0x85ebca77u);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  h *= 0x297a2d39u;
  h ^= h >> 15;
  return (h >> 31) ? -1.0 : 1.0;
}

// docs/algorithm.md, "One update" step 2 and "Bootstrap": delta = g, or while bootstrapping the mean of the
// samples seen so far and this step's active rows; |delta| >= eps with sign(0) = +1; a
// non-finite mean (non-finite rows) gives +eps.
// Variant 'signed': z_i * max(sqrt(v), eps), v (while bootstrapping) the mean of the squares seen
// so far and this step's, z_i = ref_sign(i, g, v) of `sign_of` (default: s itself).
// *err bounds the float rounding of delta (a mean of terms of either sign can cancel).
inline double ref_delta(const Opt& o, const Cell& s, const double* x, int n, double* err = nullptr, size_t i = 0,
                        const Cell* sign_of = nullptr) {
  const bool sgn = o.variant == vsgd::kSigned;
  double delta = sgn ? s.v : s.g, terms = 0;
  if (s.tau <= 0) {
    double m = 0, s1 = 0, a1 = 0;
    for (int j = 0; j < n; ++j)
      if (ref_active(o, x[j])) m += 1, s1 += sgn ? x[j] * x[j] : x[j], a1 += std::fabs(x[j]);
    const double seen = -s.tau, total = seen + m;
    delta = total > 0 ? (seen * (sgn ? s.v : s.g) + s1) / total : 0.0;
    terms = total > 0 ? (seen * std::fabs(s.g) + a1) / total : 0.0;
  }
  if (sgn) {  // a mean of squares: nothing cancels
    if (err) *err = 0;
    // a mean of squares beyond the float range (huge rows) gives eps, as a non-finite mean does
    double size = storable(delta) ? std::sqrt(std::max(delta, 0.0)) : 0.0;
    if (!storable(size) || size < o.eps) size = o.eps;
    const Cell& z = sign_of ? *sign_of : s;
    return ref_sign(i, z.g, z.v) * size;
  }
  if (err) *err = storable(terms) ? kUlps * terms : 0.0;
  if (!storable(delta)) delta = o.eps;  // non-finite rows: the step skips the coordinate anyway
  if (std::fabs(delta) < o.eps) {
    delta = delta < 0 ? -o.eps : o.eps;
    if (err) *err = 0;  // clamped (unless on the edge, which random inputs do not hit)
  }
  return delta;
}

inline RefOut ref_vsgd_step(const Opt& o, const Cell& in, double theta, const double* x, const double* e, int n,
                            bool flip, bool* ambiguous, const RefReweight* rw, size_t i);

// The effective row count ne of a step with n rows, m of them active at the coordinate, p its
// 'global' density: the float n_eff with reweighting (passed to the kernels as a float), else
// n (dense), m ('instance') or n·p within [1, n] ('global').
inline double ref_ne(const Opt& o, const RefReweight* rw, int n, double m, double p) {
  if (rw) return (float)rw->neff;
  if (o.sparsity == vsgd::kInstance) return m;
  if (o.sparsity == vsgd::kGlobal) return std::min(std::max(n * p, 1.0), (double)n);
  return n;
}

// SPEC's rate eta of the statistics in t for ne effective rows.
inline double ref_rate(const Opt& o, const Cell& t, double ne) {
  const double g2 = t.g * t.g, eps = o.eps;
  if (o.algo == vsgd::kVsgdFd && o.variant == vsgd::kSigned) {
    // the noise sees |h| plus half its standard error over tau*ne samples, the mean sqrt(vh)
    const double noise_h = std::fabs(t.h) + 0.5 * std::sqrt(std::max(t.vh - t.h * t.h, 0.0) / (t.tau * ne));
    return ne * g2 / ((noise_h + eps) * (std::max(t.v - g2, 0.0) + eps * t.v) + (std::sqrt(t.vh) + eps) * ne * g2 + 1e-30);
  }
  const double base = ne * g2 / (t.v + (ne - 1) * g2 + eps);
  return o.algo == vsgd::kVsgdFd ? (t.h + eps) / (t.vh + eps) * base : base / (t.h + eps);
}

// The rate's relative allowance from the absolute allowances of g, v, h and vh (sl[kG] ...):
// first-order error propagation through ref_rate, each field also rounded once more as the
// kernel reads and squares it. 'signed' takes sqrt(max(vh - h^2, 0)) and max(v - g^2, 0) + eps*v,
// which the allowances move by far more than their relative size where vh is close to h^2
// (steady curvature) or v to g^2 (no gradient noise): bounded through the differences directly
// (|sqrt(a) - sqrt(b)| <= min(sqrt(|a-b|), |a-b|/sqrt(a))). ne: the effective row count.
inline double ref_rate_rel(const Opt& o, const Cell& t, double ne, const double* sl) {
  const double eps = o.eps, g2 = t.g * t.g;
  const double sg = sl[kG] + kUlps * std::fabs(t.g), sv = sl[kV] + kUlps * std::fabs(t.v);
  const double sh = sl[kH] + kUlps * std::fabs(t.h), svh = sl[kVH] + kUlps * std::fabs(t.vh);
  const double rel_g2 = t.g != 0 ? std::min(2 * sg / std::fabs(t.g), 1.0) : 0.0;
  if (!(o.algo == vsgd::kVsgdFd && o.variant == vsgd::kSigned)) {
    const double den = t.v + (ne - 1) * g2 + eps;
    const double rel = rel_g2 + (sv + (ne - 1) * g2 * rel_g2) / den + sh / (std::fabs(t.h) + eps);
    return rel + (o.algo == vsgd::kVsgdFd ? svh / (std::fabs(t.vh) + eps) : 0.0);
  }
  const auto dsqrt = [](double a, double da) { return a > 0 ? std::min(std::sqrt(da), da / std::sqrt(a)) : std::sqrt(da); };
  const double tn = t.tau * ne, a = std::max(t.v - g2, 0.0) + eps * t.v, da = 2 * std::fabs(t.g) * sg + sv;
  const double x = std::max(t.vh - t.h * t.h, 0.0), dx = svh + 2 * std::fabs(t.h) * sh + sh * sh;
  const double noise = std::fabs(t.h) + 0.5 * std::sqrt(x / tn), dnoise = sh + 0.5 * dsqrt(x, dx) / std::sqrt(tn);
  const double vh = std::max(t.vh, 0.0), mean = (std::sqrt(vh) + eps) * ne * g2;
  const double D = (noise + eps) * a + mean;
  const double dD = dnoise * a + (noise + eps) * da + dsqrt(vh, svh) * ne * g2 + mean * rel_g2;
  return rel_g2 + (dD < D ? dD / (D - dD) : 1.0);
}

// vSGD-fd / vSGD, one coordinate. `flip` inverts the outlier decision; `*ambiguous` says the
// decision lies within float rounding of its threshold, so either outcome is acceptable.
// With reweighting (rw not null, dense rows): the rate uses rw->neff, the step rw->dir[i].
// eta: the rate of the step where the update stores it ('instance' sparsity, reweighting), else
// (as a read of the state derives it, docs/algorithm.md) the rate the new statistics give with
// this update's ne, 0 while bootstrapping, whether or not this update changed the coordinate.
// vSGD-fd / vSGD, one coordinate. `flip` inverts the outlier decision; `*ambiguous` says the
// decision lies within float rounding of its threshold, so either outcome is acceptable.
// With reweighting (rw not null, dense rows): the rate uses rw->neff, the step rw->dir[i].
// eta: the rate of the step where the update stores it ('instance' sparsity, reweighting), else
// (as a read of the state derives it, docs/algorithm.md) the rate the new statistics give with
// this update's ne, 0 while bootstrapping, whether or not this update changed the coordinate.
inline RefOut ref_vsgd(const Opt& o, const Cell& in, double theta, const double* x, const double* e, int n, bool flip,
                       bool* ambiguous, const RefReweight* rw = nullptr, size_t i = 0) {
  RefOut out = ref_vsgd_step(o, in, theta, x, e, n, flip, ambiguous, rw, i);
  Cell& t = out.s;
  double m = 0;
  for (int j = 0; j < n; ++j) m += ref_active(o, x[j]) ? 1 : 0;
  const double ne = ref_ne(o, rw, n, m, t.p);  // as the step forms it
  const bool derived = o.sparsity != vsgd::kInstance && !rw;
  if (derived) {
    if (t.tau <= 0) return t.eta = 0, out.slack[kEta] = 0, out;
    t.eta = ref_rate(o, t, ne);
    out.slack[kEta] = std::max(out.slack[kEta], ref_rate_rel(o, t, ne, out.slack) * std::fabs(t.eta));
  }
  return out;
}

inline RefOut ref_vsgd_step(const Opt& o, const Cell& in, double theta, const double* x, const double* e, int n,
                            bool flip, bool* ambiguous, const RefReweight* rw, size_t i) {
  *ambiguous = false;
  RefOut out{in, theta, 0};
  const bool fd = o.algo == vsgd::kVsgdFd;
  const bool boot = in.tau <= 0;
  const unsigned bflag = boot ? fBoot : 0;
  double m = 0, s1 = 0, s2 = 0;
  bool bad = false;
  for (int j = 0; j < n; ++j) {
    if (!ref_active(o, x[j])) continue;
    m += 1, s1 += x[j], s2 += x[j] * x[j];
    bad |= !std::isfinite(x[j]);
    if (e) bad |= !std::isfinite(e[j]);
  }
  out.flags = bflag;
  if (m == 0) return out;                      // no active row: untouched
  if (boot && !e) return out;                  // bootstrap needs curvature with every sample:
                                               // without it nothing happens (not even a skip)
  if (bad) return out.flags |= fSkipped, out;  // non-finite input: skipped
  const bool sgn = fd && o.variant == vsgd::kSigned;
  double c1 = 0, c2 = 0, rel_delta = 0, c_size = 0;
  if (e) {
    double err = 0;
    const double delta = ref_delta(o, in, x, n, &err, i), ad = std::fabs(delta);
    if (fd) rel_delta = err / ad;  // the curvature samples are divided by delta
    for (int j = 0; j < n; ++j) {
      if (!ref_active(o, x[j])) continue;
      // 'signed': (∇' − ∇)/δ, samples of either sign whose mean may cancel below their size
      const double c = !fd ? std::fabs(e[j]) : sgn ? (e[j] - x[j]) / delta : std::fabs(x[j] - e[j]) / ad;
      c1 += c, c2 += c * c, c_size += std::fabs(c);
    }
  }
  Cell t = in;
  double th = theta;
  unsigned flags = fTouched;
  const double eps = o.eps;
  if (boot) {
    const double seen = -in.tau, total = seen + m;
    t.g = (seen * in.g + s1) / total;
    t.v = (seen * in.v + s2) / total;
    t.h = (seen * in.h + c1) / total;
    if (fd) t.vh = (seen * in.vh + c2) / total;
    if (o.sparsity == vsgd::kGlobal) t.p = in.p + (m / n - in.p) * (m / total);
    t.eta = 0;  // while bootstrapping; at its end the rate of the new statistics
    if (total >= o.n0) {
      t.v = o.C * (t.v + eps);
      t.h = o.C * (t.h + eps);
      if (fd) t.vh = o.C * o.C * (t.vh + eps);
      t.tau = total;
      t.eta = ref_rate(o, t, ref_ne(o, rw, n, m, t.p));
    } else {
      t.tau = -total;
      flags |= fBoot;
    }
    out.slack[kG] = kUlps * (seen * std::fabs(in.g) + std::fabs(s1)) / total;  // g's mean may cancel
    out.slack[kH] = rel_delta * std::fabs(t.h) + (sgn ? kUlps * c_size / total : 0.0);
    out.slack[kVH] = 2 * rel_delta * std::fabs(t.vh);
    out.slack[kV] = kUlps * std::fabs(t.v);
    if (t.tau > 0) out.slack[kEta] = ref_rate_rel(o, t, ref_ne(o, rw, n, m, t.p), out.slack) * std::fabs(t.eta);
  } else {
    const double gb = s1 / m, q = s2 / m, cb = c1 / m, cq = c2 / m;
    bool outlier = false;
    if (o.k > 0) {
      // each test: lhs > rhs; "ambiguous" when the two are within float rounding of each other
      // (the rhs is a square root of a difference, which float computes only to ~sqrt(ulp))
      auto test = [&](double mean, double avg, double sq, bool* amb) {
        const double lhs = std::fabs(mean - avg), rhs = o.k * std::sqrt(std::max(sq - avg * avg, 0.0));
        *amb = std::fabs(lhs - rhs) <= 1e-3 * o.k * std::sqrt(std::fabs(sq)) + 1e-5 * (std::fabs(mean) + std::fabs(avg));
        return lhs > rhs;
      };
      bool amb_g = false, amb_c = false;
      const bool out_g = test(gb, in.g, in.v, &amb_g);
      const bool use_c = fd && e;
      const bool out_c = use_c && test(cb, in.h, in.vh, &amb_c);
      // the decision is ambiguous when some choice of the ambiguous tests changes the OR
      bool can_true = false, can_false = false;
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
          if ((a && !amb_g) || (b && !amb_c)) continue;
          const bool r = (a ? !out_g : out_g) || (use_c && (b ? !out_c : out_c));
          (r ? can_true : can_false) = true;
        }
      *ambiguous = can_true && can_false;
      outlier = out_g || out_c;
    }
    if (flip) outlier = !outlier;
    if (outlier) t.tau += 1, flags |= fOutlier;
    const double r = 1.0 / t.tau;
    t.g = (1 - r) * in.g + r * gb;
    t.v = (1 - r) * in.v + r * q;
    if (e) {
      t.h = (1 - r) * in.h + r * cb;
      if (fd) t.vh = (1 - r) * in.vh + r * cq;
    }
    if (o.sparsity == vsgd::kGlobal) t.p = (1 - r) * in.p + r * (m / n);
    const double ne = ref_ne(o, rw, n, m, t.p);
    const double g2 = t.g * t.g;
    const double tau_before = t.tau;
    t.tau = std::max(1 - g2 / (t.v + eps), 0.0) * t.tau + 1;  // in [0, 1] exactly; docs/algorithm.md
    const double eta = ref_rate(o, t, ne);  // with the new tau
    const double step = rw ? rw->dir[i] : s1 / ne;
    th = theta - eta * step;
    t.eta = eta;
    // the moving averages may cancel: (1 - r)·old + r·new carries the rounding of both terms and
    // of r itself, which (1 - r) turns into a large relative error where tau is near 1. eta goes
    // with them (ref_rate_rel), theta moves by eta*mean, tau by g^2/v
    const auto avg_err = [&](double old_x, double new_x) { return kUlps * (std::fabs(old_x) + r * std::fabs(new_x)); };
    const double err_g = avg_err(in.g, gb), err_v = avg_err(in.v, q);
    const double rel_g2 = t.g != 0 ? std::min(2 * err_g / std::fabs(t.g), 1.0) : 1.0;
    out.slack[kG] = err_g;
    out.slack[kV] = err_v;
    if (e) {
      out.slack[kH] = avg_err(in.h, cb) + (sgn ? r * kUlps * c_size / m : 0.0);  // signed samples may cancel
      if (fd) out.slack[kVH] = avg_err(in.vh, cq);
    }
    const double rel_eta = ref_rate_rel(o, t, ne, out.slack);
    out.slack[kEta] = rel_eta * std::fabs(eta);
    out.slack[kFields] = (rel_eta + kUlps) * std::fabs(eta * step) + (rw ? kUlps * std::fabs(eta) * rw->size[i] : 0.0);
    out.slack[kTau] = (rel_g2 + err_v / (t.v + eps) + kUlps) * (g2 / (t.v + eps)) * tau_before;
  }
  bool ok = storable(th);
  for (int f = 0; f < kFields; ++f) ok = ok && storable(field(t, f));
  if (!ok) {  // an overflowing result is not stored
    for (double& x : out.slack) x = 0;
    return out.flags |= fSkipped, out;
  }
  out.s = t;
  out.theta = th;
  out.flags = flags;
  return out;
}

// The baselines step with the mean of all n rows (docs/algorithm.md, "The baselines"); t = updates done before.
inline RefOut ref_baseline(const Opt& o, const Cell& in, double theta, const double* x, int n, double t) {
  RefOut out{in, theta, 0};
  double s1 = 0, s2 = 0;
  bool bad = false;
  for (int j = 0; j < n; ++j) s1 += x[j], s2 += x[j] * x[j], bad |= !std::isfinite(x[j]);
  if (bad) return out.flags = fSkipped, out;
  if (n == 0) return out;
  const double gb = s1 / n, q = s2 / n;
  Cell c = in;
  double th = theta;
  switch (o.algo) {
    case vsgd::kSgd:
      th = theta - o.lr0 / (1 + o.decay * t) * gb;
      break;
    case vsgd::kAdaGrad:
      c.v = in.v + gb * gb;
      th = theta - o.lr0 * gb / (std::sqrt(c.v) + o.eps);
      break;
    case vsgd::kNatural: {
      const double r = 1.0 / std::min(t + 1, 100.0);
      c.v = (1 - r) * in.v + r * q;
      th = theta - o.lr0 * gb / (c.v + o.eps);
      break;
    }
    case vsgd::kAdam: {
      c.g = o.b1 * in.g + (1 - o.b1) * gb;
      c.v = o.b2 * in.v + (1 - o.b2) * gb * gb;
      const double mh = c.g / (1 - std::pow(o.b1, t + 1)), vh = c.v / (1 - std::pow(o.b2, t + 1));
      th = theta - o.lr0 * mh / (std::sqrt(vh) + o.eps);
      break;
    }
  }
  bool ok = storable(th);
  for (int f = 0; f < kFields; ++f) ok = ok && storable(field(c, f));
  if (!ok) return out.flags = fSkipped, out;
  out.s = c;
  out.theta = th;
  out.flags = fTouched;
  return out;
}

}  // namespace vsgd_ref
