// vsgd_selfcheck: the backends against an independent float64 re-implementation of SPEC.md, and
// the CUDA backend against the CPU backend, on fresh random inputs (seeded from the clock; the seed
// is printed and --seed reproduces a run). Needs no Node.
//
//   1. CPU vs reference, one step: every algorithm, and for vSGD-fd / vSGD every sparsity mode,
//      with and without curvature rows, in bootstrap and after, outlier test on and off, n = 1
//      and n = 7; every output element (theta, every state slot, the probe point) and the four
//      counters. Inputs include zero entries, fully inactive coordinates, NaN / Inf and overflowing
//      values. Outputs that the backend must write (probe out, read-back buffers) are poisoned
//      with NaN first, and every buffer has canaries on both sides.
//   2. CPU vs reference along 60-step trajectories of a noisy quadratic (the reference restarts
//      from the backend's float state every step), so bootstrap ends, outliers and sparse
//      updates are checked on values the dynamics really produce.
//   3. CUDA vs CPU when a device is usable: one step of every case above (1e-6 relative), the
//      device-rows path (step_device), read-back, invalidate(), and 100-step trajectories (1e-4).
//
// The reference below is written from SPEC.md and the conventions stated in math.h's comments
// (tau <= 0 means bootstrapping with -tau samples seen; sparse active rows are the non-zero
// entries; a non-finite input skips the coordinate; an overflowing result skips it too; 'global'
// p during bootstrap is p += (m/n - p)*(m/total)). It shares no arithmetic with math.h; it only
// uses math.h's state layout (which slot holds which field) and Params, which are the interface.
//
// Usage: vsgd_selfcheck [--seed N] [--d N] [--quick] [--require-cuda]
// Exit status: 0 all checks passed (CUDA may be skipped), 1 a mismatch, 2 bad usage or CUDA
// required but unavailable.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#ifdef VSGD_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using vsgd::Backend;
using vsgd::Layout;
using vsgd::Params;
using vsgd::StepArgs;
using vsgd::StepStats;

// ---------------------------------------------------------------------------------------------
// float64 reference, from SPEC.md
// ---------------------------------------------------------------------------------------------

enum : unsigned { fTouched = 1, fSkipped = 2, fOutlier = 4, fBoot = 8 };
const char* kAlgoName[] = {"vsgdfd", "vsgd", "sgd", "adagrad", "natural", "adam"};
const char* kSparsityName[] = {"dense", "instance", "global"};

struct Opt {  // the options, as the float values the backend sees, widened to double
  int algo, sparsity;
  double n0, C, eps, k, lr0, decay, b1, b2;
};

struct Cell {  // one coordinate's state
  double g = 0, v = 0, h = 0, vh = 0, tau = 0, eta = 0, p = 0;
};
enum Field { kG, kV, kH, kVH, kTau, kEta, kP, kFields };
const char* kFieldName[] = {"g", "v", "h", "vh", "tau", "eta", "p"};
double& field(Cell& c, int f) {
  double* a[] = {&c.g, &c.v, &c.h, &c.vh, &c.tau, &c.eta, &c.p};
  return *a[f];
}
double field(const Cell& c, int f) { return field(const_cast<Cell&>(c), f); }
void slots(const Layout& L, int s[kFields]) {
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

bool is_vsgd(int algo) { return algo == vsgd::kVsgdFd || algo == vsgd::kVsgd; }

// A value the backend can store: finite and within float range.
bool storable(double x) { return std::isfinite(x) && std::fabs(x) <= 3.4028234663852886e38; }

bool ref_active(const Opt& o, double x) { return o.sparsity == vsgd::kDense || x != 0.0; }

// SPEC "One dense step" 1 and "Bootstrap": delta = g, or while bootstrapping the mean of the
// samples seen so far and this step's active rows; |delta| >= eps with sign(0) = +1; a
// non-finite mean (non-finite rows) gives +eps.
// *err bounds the float rounding of delta (a mean of terms of either sign can cancel).
double ref_delta(const Opt& o, const Cell& s, const double* x, int n, double* err = nullptr) {
  double delta = s.g, terms = 0;
  if (s.tau <= 0) {
    double m = 0, s1 = 0, a1 = 0;
    for (int j = 0; j < n; ++j)
      if (ref_active(o, x[j])) m += 1, s1 += x[j], a1 += std::fabs(x[j]);
    const double seen = -s.tau, total = seen + m;
    delta = total > 0 ? (seen * s.g + s1) / total : 0.0;
    terms = total > 0 ? (seen * std::fabs(s.g) + a1) / total : 0.0;
  }
  if (err) *err = storable(terms) ? kUlps * terms : 0.0;
  if (!storable(delta)) delta = o.eps;  // non-finite rows: the step skips the coordinate anyway
  if (std::fabs(delta) < o.eps) {
    delta = delta < 0 ? -o.eps : o.eps;
    if (err) *err = 0;  // clamped (unless on the edge, which random inputs do not hit)
  }
  return delta;
}

// vSGD-fd / vSGD, one coordinate. `flip` inverts the outlier decision; `*ambiguous` says the
// decision lies within float rounding of its threshold, so either outcome is acceptable.
RefOut ref_vsgd(const Opt& o, const Cell& in, double theta, const double* x, const double* e, int n, bool flip,
                bool* ambiguous) {
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
  double c1 = 0, c2 = 0, rel_delta = 0;
  if (e) {
    double err = 0;
    const double ad = std::fabs(ref_delta(o, in, x, n, &err));
    if (fd) rel_delta = err / ad;  // the curvature samples are divided by delta
    for (int j = 0; j < n; ++j) {
      if (!ref_active(o, x[j])) continue;
      const double c = fd ? std::fabs(x[j] - e[j]) / ad : std::fabs(e[j]);
      c1 += c, c2 += c * c;
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
    if (total >= o.n0) {
      t.v = o.C * (t.v + eps);
      t.h = o.C * (t.h + eps);
      if (fd) t.vh = o.C * o.C * (t.vh + eps);
      t.tau = total;
    } else {
      t.tau = -total;
      flags |= fBoot;
    }
    out.slack[kG] = kUlps * (seen * std::fabs(in.g) + std::fabs(s1)) / total;  // g's mean may cancel
    out.slack[kH] = rel_delta * std::fabs(t.h);
    out.slack[kVH] = 2 * rel_delta * std::fabs(t.vh);
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
    double ne = n;
    if (o.sparsity == vsgd::kInstance) ne = m;
    if (o.sparsity == vsgd::kGlobal) {
      t.p = (1 - r) * in.p + r * (m / n);
      ne = std::min(std::max(n * t.p, 1.0), (double)n);
    }
    const double g2 = t.g * t.g;
    const double base = ne * g2 / (t.v + (ne - 1) * g2 + eps);
    const double eta = fd ? (t.h + eps) / (t.vh + eps) * base : base / (t.h + eps);
    const double tau_before = t.tau;
    t.tau = std::max(1 - g2 / (t.v + eps), 0.0) * t.tau + 1;  // in [0, 1] exactly; docs/algorithm.md
    th = theta - eta * (s1 / ne);
    t.eta = eta;
    // g may cancel; eta goes with g^2, theta moves by eta*mean, tau by g^2/v
    const double err_g = kUlps * ((1 - r) * std::fabs(in.g) + r * std::fabs(gb));
    const double rel_g2 = t.g != 0 ? std::min(2 * err_g / std::fabs(t.g), 1.0) : 1.0;
    out.slack[kG] = err_g;
    out.slack[kEta] = rel_g2 * std::fabs(eta);
    out.slack[kFields] = (rel_g2 + kUlps) * std::fabs(eta * (s1 / ne));
    out.slack[kTau] = (rel_g2 + kUlps) * (g2 / (t.v + eps)) * tau_before;
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

// The baselines step with the mean of all n rows (SPEC "Baselines"); t = updates done before.
RefOut ref_baseline(const Opt& o, const Cell& in, double theta, const double* x, int n, double t) {
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

// ---------------------------------------------------------------------------------------------
// buffers with canaries, comparisons
// ---------------------------------------------------------------------------------------------

constexpr size_t kGuard = 32;
const uint32_t kCanaryBits = 0x7fa11ce5u;  // a NaN no computation produces

// A float buffer with kGuard canary floats on each side.
struct Guarded {
  std::vector<float> buf;
  size_t n = 0;
  Guarded() = default;
  explicit Guarded(size_t len) : buf(len + 2 * kGuard), n(len) {
    float c;
    std::memcpy(&c, &kCanaryBits, 4);
    std::fill(buf.begin(), buf.end(), c);
  }
  Guarded(const std::vector<float>& v) : Guarded(v.size()) { std::copy(v.begin(), v.end(), data()); }
  float* data() { return buf.data() + kGuard; }
  const float* data() const { return buf.data() + kGuard; }
  float& operator[](size_t i) { return data()[i]; }
  float operator[](size_t i) const { return data()[i]; }
  void poison() { std::fill(data(), data() + n, std::nanf("")); }
  bool intact() const {
    for (size_t k = 0; k < kGuard; ++k) {
      uint32_t a, b;
      std::memcpy(&a, &buf[k], 4);
      std::memcpy(&b, &buf[kGuard + n + k], 4);
      if (a != kCanaryBits || b != kCanaryBits) return false;
    }
    return true;
  }
};

// Worst error of a group of elements, as a multiple of its tolerance (<= 1 passes):
// |got - want| <= rtol * (|want| + |in| + floor), floor = 1% of the largest |want| of the field.
// |in| (the element before the step) bounds the rounding of results that cancel, like theta - step.
struct Cmp {
  double worst = 0;
  size_t count = 0, bad = 0, identical = 0;
  std::string first, worst_at;
  // `what`[`idx`] names the element; it is formatted only when reported.
  void add(double got, double want, double in, double rtol, double floor, const char* what, size_t idx,
           double slack = 0) {
    ++count;
    if ((float)want == (float)got && std::isfinite(got)) ++identical;
    const double lim = rtol * (std::fabs(want) + std::fabs(in) + floor) + slack;
    const double err = std::fabs(got - want);
    const double ratio = err <= lim ? (lim > 0 ? err / lim : 0.0) : (lim > 0 && std::isfinite(err) ? err / lim : INFINITY);
    if (ratio > worst) {
      worst = ratio;
      worst_at = describe(got, want, in, what, idx);
    }
    if (!(err <= lim) && bad++ == 0) first = describe(got, want, in, what, idx);
  }
  static std::string describe(double got, double want, double in, const char* what, size_t idx) {
    char b[256];
    std::snprintf(b, sizeof b, "%s[%zu]: got %.9g want %.9g before %.9g", what, idx, got, want, in);
    return b;
  }
  void fail(const std::string& why) {
    ++count;
    worst = INFINITY;
    if (bad++ == 0) first = why;
  }
  void merge(const Cmp& o) {
    if (o.worst > worst) worst = o.worst, worst_at = o.worst_at;
    count += o.count, bad += o.bad, identical += o.identical;
    if (first.empty()) first = o.first;
  }
};

// ---------------------------------------------------------------------------------------------
// cases and inputs
// ---------------------------------------------------------------------------------------------

using Rng = std::mt19937_64;
double uni(Rng& r, double a, double b) { return std::uniform_real_distribution<double>(a, b)(r); }
double normal(Rng& r) { return std::normal_distribution<double>(0.0, 1.0)(r); }
bool coin(Rng& r, double p) { return uni(r, 0, 1) < p; }
float f32(double x) { return (float)x; }

enum Phase { kAfter = 0, kBootPhase = 1 };

struct Case {
  std::string name;
  Opt o;
  Params P;  // with set_time applied
  size_t d;
  int n;
  bool curv;   // curvature rows passed (vSGD family)
  int phase;   // state drawn in bootstrap or after it
  double t;    // updates done before (baselines)
};

Case make_case(Rng& r, int algo, int sparsity, bool curv, int phase, bool outlier, int n, double t, size_t d) {
  Case c;
  Params& P = c.P;
  P = Params{};
  P.algo = algo;
  P.sparsity = sparsity;
  // options drawn at random (as floats) so no coincidence like C*C == 2*C hides a mistake
  P.bootstrap = (float)(int)uni(r, 3, 13);
  P.slow_start = f32(uni(r, 1.5, 3.0));
  P.eps = algo == vsgd::kAdam ? 1e-8f : 1e-5f;
  P.outlier_sigmas = outlier ? f32(uni(r, 1.5, 2.5)) : 0.0f;
  P.lr0 = f32(uni(r, 0.01, 0.5));
  P.decay = f32(uni(r, 0.0, 1.0));
  P.beta1 = 0.9f;
  P.beta2 = 0.999f;
  vsgd::set_time(P, t);
  c.o = Opt{algo, sparsity, P.bootstrap, P.slow_start, P.eps, P.outlier_sigmas, P.lr0, P.decay, P.beta1, P.beta2};
  c.d = d, c.n = n, c.curv = curv, c.phase = phase, c.t = t;
  char b[160];
  if (is_vsgd(algo))
    std::snprintf(b, sizeof b, "%s %s %s %s k=%s n=%d", kAlgoName[algo], kSparsityName[sparsity],
                  curv ? "curv" : "nocurv", phase == kBootPhase ? "boot" : "after", outlier ? "on" : "off", n);
  else
    std::snprintf(b, sizeof b, "%s t=%g n=%d", kAlgoName[algo], t, n);
  c.name = b;
  return c;
}

struct Inputs {
  std::vector<float> theta, state, grads, extra;  // extra empty: no curvature rows
};

// Random state, rows and specials for one case.
Inputs make_inputs(Rng& r, const Case& c) {
  const size_t d = c.d;
  const int n = c.n;
  const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
  int sl[kFields];
  slots(L, sl);
  Inputs in;
  in.theta.resize(d);
  in.state.assign((size_t)L.count * d, 0.0f);
  in.grads.resize((size_t)n * d);
  if (c.curv) in.extra.resize((size_t)n * d);
  const bool fd = c.P.algo == vsgd::kVsgdFd;
  for (size_t i = 0; i < d; ++i) {
    in.theta[i] = f32(normal(r) * 2);
    Cell s;
    double spread = 1;  // gradient noise scale
    if (is_vsgd(c.P.algo)) {
      const bool boot = c.phase == kBootPhase;
      s.g = normal(r);
      const double var = uni(r, 0.05, 3);
      s.v = s.g * s.g + var;
      s.h = uni(r, 0.1, 3);
      s.vh = s.h * s.h + uni(r, 0.05, 3);
      s.p = uni(r, 0.05, 1);
      if (boot) {
        const int seen = (int)uni(r, 0, c.P.bootstrap);  // 0 .. n0-1 samples seen
        s.tau = -seen;
        s.eta = 0;
        if (seen == 0) s.g = s.v = s.h = s.vh = s.p = 0;  // a fresh coordinate
      } else {
        s.tau = uni(r, 1, 30);
        s.eta = uni(r, 0, 1);
      }
      spread = std::sqrt(var) * uni(r, 0.3, 3);  // outliers both common and rare
    } else {
      s.g = normal(r) * 0.1;
      s.v = c.P.algo == vsgd::kAdaGrad ? uni(r, 0, 5) : uni(r, 0, 1);
    }
    for (int f = 0; f < kFields; ++f)
      if (sl[f] >= 0) in.state[(size_t)sl[f] * d + i] = f32(field(s, f));
    // rows: around g, so the outlier test goes both ways
    const bool sparse = is_vsgd(c.P.algo) && c.P.sparsity != vsgd::kDense;
    const double pz = sparse ? (coin(r, 0.05) ? 1.0 : uni(r, 0.1, 0.8)) : 0.05;  // some columns all zero
    const double curv_true = uni(r, 0.1, 5);
    for (int j = 0; j < n; ++j) {
      const size_t k = (size_t)j * d + i;
      const double x = coin(r, pz) ? 0.0 : s.g + spread * normal(r);
      in.grads[k] = f32(x);
      if (c.curv) {
        if (fd)
          in.extra[k] = f32(x + curv_true * std::fabs(s.g) * (1 + 0.5 * normal(r)) + 0.1 * normal(r));
        else
          in.extra[k] = f32(curv_true * (1 + 0.5 * normal(r)));
        // an inactive row's curvature entry must be ignored: make it poison
        if (sparse && x == 0.0 && coin(r, 0.5)) in.extra[k] = std::nanf("");
      }
    }
    // specials: non-finite inputs (skip), overflowing ones (skip)
    const double u = uni(r, 0, 1);
    const int j = (int)uni(r, 0, n);
    const size_t k = (size_t)j * d + i;
    if (u < 0.01) in.grads[k] = std::nanf("");
    else if (u < 0.015) in.grads[k] = coin(r, 0.5) ? INFINITY : -INFINITY;
    else if (u < 0.02 && c.curv) in.extra[k] = std::nanf("");
    else if (u < 0.025) in.grads[k] = 1e25f;  // its square overflows float
  }
  return in;
}

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

struct Counts {
  int64_t touched = 0, skipped = 0, outliers = 0, boot = 0;
};

Counts counts(const StepStats& s) { return Counts{s.touched, s.skipped, s.outliers, s.bootstrapping}; }

// One step from (theta0, state0) checked element by element against the reference.
// theta1 / state1 are what the backend produced; stats its counters.
void check_step_vs_ref(const Case& c, const float* theta0, const float* state0, const float* grads,
                       const float* extra, const float* theta1, const float* state1, const StepStats& stats,
                       double rtol, Cmp& cmp_theta, Cmp& cmp_state, std::string& counter_note, bool& counters_ok) {
  const size_t d = c.d;
  const int n = c.n;
  const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
  int sl[kFields];
  slots(L, sl);
  std::vector<double> x(n), e(n);
  std::vector<RefOut> want(d), alt(d);
  std::vector<char> amb(d, 0);
  Counts rc;
  int64_t amb_count = 0;
  for (size_t i = 0; i < d; ++i) {
    Cell s;
    for (int f = 0; f < kFields; ++f)
      if (sl[f] >= 0) field(s, f) = state0[(size_t)sl[f] * d + i];
    for (int j = 0; j < n; ++j) {
      x[j] = grads[(size_t)j * d + i];
      if (extra) e[j] = extra[(size_t)j * d + i];
    }
    const bool use_e = extra && is_vsgd(c.P.algo);
    if (is_vsgd(c.P.algo)) {
      bool a = false, unused = false;
      want[i] = ref_vsgd(c.o, s, theta0[i], x.data(), use_e ? e.data() : nullptr, n, false, &a);
      if (a) {
        amb[i] = 1, ++amb_count;
        alt[i] = ref_vsgd(c.o, s, theta0[i], x.data(), use_e ? e.data() : nullptr, n, true, &unused);
      }
    } else {
      want[i] = ref_baseline(c.o, s, theta0[i], x.data(), n, c.t);
    }
    const unsigned f = want[i].flags;
    rc.touched += (f & fTouched) != 0, rc.skipped += (f & fSkipped) != 0;
    rc.outliers += (f & fOutlier) != 0, rc.boot += (f & fBoot) != 0;
  }
  // floors: 1% of the largest |want| per field
  double floor_f[kFields + 1] = {0};
  for (size_t i = 0; i < d; ++i) {
    floor_f[kFields] = std::max(floor_f[kFields], std::fabs(want[i].theta));
    for (int f = 0; f < kFields; ++f) floor_f[f] = std::max(floor_f[f], std::fabs(field(want[i].s, f)));
  }
  for (double& v : floor_f) v *= 0.01;
  auto compare = [&](Cmp& ct, Cmp& cs, const RefOut& w, size_t i) {
    ct.add(theta1[i], w.theta, theta0[i], rtol, floor_f[kFields], "theta", i, w.slack[kFields]);
    for (int f = 0; f < kFields; ++f) {
      if (sl[f] < 0) continue;
      const size_t k = (size_t)sl[f] * d + i;
      cs.add(state1[k], field(w.s, f), state0[k], rtol, floor_f[f], kFieldName[f], i, w.slack[f]);
    }
  };
  for (size_t i = 0; i < d; ++i) {
    if (!amb[i]) {
      compare(cmp_theta, cmp_state, want[i], i);
      continue;
    }
    // either outcome of a decision on its threshold passes
    Cmp t1, s1, t2, s2;
    compare(t1, s1, want[i], i);
    compare(t2, s2, alt[i], i);
    const bool second = (t1.bad + s1.bad) > 0 && (t2.bad + s2.bad) == 0;
    cmp_theta.merge(second ? t2 : t1);
    cmp_state.merge(second ? s2 : s1);
    if (second) rc.outliers += (alt[i].flags & fOutlier ? 1 : 0) - (want[i].flags & fOutlier ? 1 : 0);
  }
  const Counts bc = counts(stats);
  counters_ok = bc.touched == rc.touched && bc.skipped == rc.skipped && bc.boot == rc.boot &&
                std::llabs(bc.outliers - rc.outliers) <= amb_count;
  char b[200];
  std::snprintf(b, sizeof b, "%" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64, bc.touched, bc.skipped, bc.outliers, bc.boot);
  counter_note = b;
  if (!counters_ok) {
    std::snprintf(b, sizeof b, " want %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64, rc.touched, rc.skipped, rc.outliers,
                  rc.boot);
    counter_note += b;
  }
}

// probe out (poisoned first) against theta + delta.
void check_probe_vs_ref(const Case& c, Backend& be, const float* theta, float* state, const float* grads, bool with_rows,
                        double rtol, Cmp& cmp) {
  Guarded out(c.d);
  out.poison();
  StepArgs a{};
  a.theta = const_cast<float*>(theta);
  a.state = state;
  a.d = c.d;
  a.grads = with_rows ? grads : nullptr;
  a.n = with_rows ? c.n : 0;
  be.probe(c.P, a, out.data());
  if (!out.intact()) cmp.fail("probe wrote outside out");
  const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
  int sl[kFields];
  slots(L, sl);
  std::vector<double> x(c.n);
  std::vector<double> want(c.d), err(c.d);
  double floor_v = 0;
  for (size_t i = 0; i < c.d; ++i) {
    Cell s;
    for (int f = 0; f < kFields; ++f)
      if (sl[f] >= 0) field(s, f) = state[(size_t)sl[f] * c.d + i];
    for (int j = 0; j < c.n; ++j) x[j] = with_rows ? grads[(size_t)j * c.d + i] : 0.0;
    want[i] = theta[i] + ref_delta(c.o, s, x.data(), with_rows ? c.n : 0, &err[i]);
    floor_v = std::max(floor_v, std::fabs(want[i]));
  }
  for (size_t i = 0; i < c.d; ++i) {
    cmp.add(out[i], want[i], theta[i], rtol, 0.01 * floor_v, "probe", i, err[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// table
// ---------------------------------------------------------------------------------------------

struct Table {
  int rows = 0, failed = 0;
  void header(const char* title, const char* tol) {
    std::printf("\n%s (tolerance: %s)\n", title, tol);
    std::printf("%-44s %7s %9s %9s %9s %-24s %s\n", "case", "d", "theta", "state", "probe", "counters t/s/o/b",
                "result");
  }
  void row(const std::string& name, size_t d, const Cmp& th, const Cmp& st, const Cmp* pr, bool counters_ok,
           const std::string& counters, bool guards_ok) {
    const bool ok = th.bad == 0 && st.bad == 0 && (!pr || pr->bad == 0) && counters_ok && guards_ok;
    ++rows;
    failed += !ok;
    auto fmt = [](const Cmp* c) {
      char b[32];
      if (!c || c->count == 0) return std::string("-");
      std::snprintf(b, sizeof b, "%.2g", c->worst);
      return std::string(b);
    };
    std::printf("%-44s %7zu %9s %9s %9s %-24s %s\n", name.c_str(), d, fmt(&th).c_str(), fmt(&st).c_str(), fmt(pr).c_str(),
                counters.c_str(), ok ? "ok" : "MISMATCH");
    if (std::getenv("VSGD_SELFCHECK_VERBOSE")) {
      if (th.worst > 0) std::printf("    worst theta: %s\n", th.worst_at.c_str());
      if (st.worst > 0) std::printf("    worst state: %s\n", st.worst_at.c_str());
      if (pr && pr->worst > 0) std::printf("    worst probe: %s\n", pr->worst_at.c_str());
    }
    if (!ok) {
      if (!th.first.empty()) std::printf("    first theta mismatch: %s\n", th.first.c_str());
      if (!st.first.empty()) std::printf("    first state mismatch: %s\n", st.first.c_str());
      if (pr && !pr->first.empty()) std::printf("    first probe mismatch: %s\n", pr->first.c_str());
      if (!counters_ok) std::printf("    counters differ: %s\n", counters.c_str());
      if (!guards_ok) std::printf("    a canary around a buffer was overwritten\n");
    }
  }
};

StepArgs args_of(float* theta, float* state, size_t d, const float* grads, const float* extra, int n) {
  StepArgs a{};
  a.theta = theta, a.state = state, a.d = d, a.grads = grads, a.extra = extra, a.n = n;
  return a;
}

// ---------------------------------------------------------------------------------------------
// 1. CPU vs reference, one step
// ---------------------------------------------------------------------------------------------

std::vector<Case> all_cases(Rng& r, size_t d) {
  std::vector<Case> cs;
  for (int algo : {vsgd::kVsgdFd, vsgd::kVsgd})
    for (int sp : {vsgd::kDense, vsgd::kInstance, vsgd::kGlobal})
      for (bool curv : {true, false})
        for (int phase : {kAfter, kBootPhase})
          for (bool outlier : {true, false})
            for (int n : {1, 7}) cs.push_back(make_case(r, algo, sp, curv, phase, outlier, n, 0, d));
  // baselines take every row (SPEC: the plain mean): a sparsity setting must not change them
  for (int algo : {vsgd::kSgd, vsgd::kAdaGrad, vsgd::kNatural, vsgd::kAdam}) {
    for (double t : {0.0, 37.0, 250.0})
      for (int n : {1, 7}) cs.push_back(make_case(r, algo, vsgd::kDense, false, kAfter, false, n, t, d));
    Case c = make_case(r, algo, vsgd::kInstance, false, kAfter, false, 7, 5, d);
    c.name += " instance(ignored)";
    cs.push_back(c);
  }
  return cs;
}

constexpr double kRtolRef = 2e-5;

int cpu_vs_reference(Rng& r, size_t d, std::vector<std::pair<Case, Inputs>>& kept) {
  Table tab;
  tab.header("CPU backend vs float64 reference, one step", "rtol 2e-5 of |want|+|in|+1% field max; shown: worst err/tol");
  auto cpu = vsgd::make_cpu_backend(0);
  for (const Case& c : all_cases(r, d)) {
    Inputs in = make_inputs(r, c);
    kept.emplace_back(c, in);
    Guarded theta(in.theta), state(in.state), grads(in.grads), extra(in.extra);
    const float* ex = c.curv ? extra.data() : nullptr;
    Cmp cp;
    if (is_vsgd(c.P.algo)) {
      check_probe_vs_ref(c, *cpu, theta.data(), state.data(), grads.data(), true, kRtolRef, cp);
      check_probe_vs_ref(c, *cpu, theta.data(), state.data(), grads.data(), false, kRtolRef, cp);
    }
    const StepStats st = cpu->step(c.P, args_of(theta.data(), state.data(), d, grads.data(), ex, c.n));
    Cmp ct, cs;
    std::string note;
    bool cok = false;
    check_step_vs_ref(c, in.theta.data(), in.state.data(), in.grads.data(), c.curv ? in.extra.data() : nullptr,
                      theta.data(), state.data(), st, kRtolRef, ct, cs, note, cok);
    const bool guards = theta.intact() && state.intact() && grads.intact() && extra.intact();
    tab.row(c.name, d, ct, cs, is_vsgd(c.P.algo) ? &cp : nullptr, cok, note, guards);
  }
  std::printf("%d cases, %d mismatched\n", tab.rows, tab.failed);
  return tab.failed;
}

// ---------------------------------------------------------------------------------------------
// trajectories of a noisy separable quadratic (SPEC's f_quad, with optional sparsity)
// ---------------------------------------------------------------------------------------------

struct Problem {
  size_t d;
  int n;
  std::vector<double> A, sigma, pnz;
  Rng rng;
  Problem(size_t d_, int n_, uint64_t seed, bool sparse) : d(d_), n(n_), A(d_), sigma(d_), pnz(d_), rng(seed) {
    for (size_t i = 0; i < d; ++i) {
      A[i] = std::pow(10.0, uni(rng, -1, 1));
      sigma[i] = std::sqrt(std::pow(10.0, uni(rng, -1, 1)));
      pnz[i] = sparse ? uni(rng, 0.1, 0.9) : 1.0;
    }
  }
  // n samples xi; rows at theta; optionally the same samples' rows at probe (fd) or curvature (vsgd)
  std::vector<double> xi;
  std::vector<char> mask;
  void draw() {
    xi.resize((size_t)n * d);
    mask.resize((size_t)n * d);
    for (size_t k = 0; k < xi.size(); ++k) {
      xi[k] = sigma[k % d] * normal(rng);
      mask[k] = coin(rng, pnz[k % d]);
    }
  }
  void grads_at(const float* at, std::vector<float>& out) const {
    out.resize((size_t)n * d);
    for (size_t k = 0; k < out.size(); ++k) out[k] = mask[k] ? f32(2 * A[k % d] * (at[k % d] - xi[k])) : 0.0f;
  }
  void curvature(std::vector<float>& out) const {
    out.resize((size_t)n * d);
    for (size_t k = 0; k < out.size(); ++k) out[k] = f32(2 * A[k % d] * (1 + 0.1 * std::sin((double)k)));
  }
};

// A finished run: final theta and state, and the counters of every step.
struct Traj {
  Case c;
  std::vector<float> theta, state;
  std::vector<Counts> stats;
};


// Sees every step: the case (with this step's t and curvature), theta and state before and
// after, the rows, and the counters.
using StepHook = std::function<void(const Case&, const std::vector<float>& th0, const std::vector<float>& st0,
                                    const std::vector<float>& grads, const float* extra, const std::vector<float>& th1,
                                    const std::vector<float>& st1, const StepStats& st)>;

// One optimizer's run from theta = 1 and a fresh (zero) state, curvature every other step and
// on every step while anything bootstraps (as the library schedules it).
Traj run_trajectory(Backend& be, const Case& c0, int steps, uint64_t seed, const StepHook& hook) {
  Traj tr;
  tr.c = c0;
  const size_t d = c0.d;
  const Layout L = vsgd::layout(c0.P.algo, c0.P.sparsity);
  tr.theta.assign(d, 1.0f);
  tr.state.assign((size_t)L.count * d, 0.0f);
  be.invalidate();
  Problem prob(d, c0.n, seed, c0.P.sparsity != vsgd::kDense);
  std::vector<float> grads, extra, probe(d), th0, st0;
  bool any_boot = true;
  for (int s = 0; s < steps; ++s) {
    Case c = c0;
    c.t = s;
    vsgd::set_time(c.P, s);
    prob.draw();
    prob.grads_at(tr.theta.data(), grads);
    const bool curv = is_vsgd(c.P.algo) && (s % 2 == 0 || any_boot);
    c.curv = curv;
    if (curv) {
      if (c.P.algo == vsgd::kVsgdFd) {
        be.probe(c.P, args_of(tr.theta.data(), tr.state.data(), d, grads.data(), nullptr, c.n), probe.data());
        prob.grads_at(probe.data(), extra);
      } else {
        prob.curvature(extra);
      }
    }
    if (hook) th0 = tr.theta, st0 = tr.state;
    const StepStats st =
        be.step(c.P, args_of(tr.theta.data(), tr.state.data(), d, grads.data(), curv ? extra.data() : nullptr, c.n));
    if (be.device_resident()) be.read_state(tr.state.data(), tr.state.size());
    tr.stats.push_back(counts(st));
    any_boot = st.bootstrapping > 0;
    if (hook) hook(c, th0, st0, grads, curv ? extra.data() : nullptr, tr.theta, tr.state, st);
  }
  return tr;
}

std::vector<Case> trajectory_cases(Rng& r, size_t d) {
  std::vector<Case> cs;
  auto named = [](Case c, const char* fmt, const char* a, const char* b, int n) {
    char buf[96];
    std::snprintf(buf, sizeof buf, fmt, a, b, n);
    c.name = buf;
    return c;
  };
  for (int algo : {vsgd::kVsgdFd, vsgd::kVsgd})
    for (int sp : {vsgd::kDense, vsgd::kInstance, vsgd::kGlobal})
      for (int n : {1, 10}) {
        Case c = make_case(r, algo, sp, true, kBootPhase, true, n, 0, d);
        c.P.bootstrap = 10, c.P.slow_start = 2, c.P.outlier_sigmas = 2;  // the library's defaults
        c.o.n0 = 10, c.o.C = 2, c.o.k = 2;
        cs.push_back(named(c, "traj %s %s n=%d", kAlgoName[algo], kSparsityName[sp], n));
      }
  // Baselines with a fixed rate small enough to be stable on every coordinate of the problem
  // (the natural gradient's steps are lr/(F+eps) large where F is small): on a diverging or
  // chaotic run, last-bit differences between two correct backends grow past any tolerance.
  for (int algo : {vsgd::kSgd, vsgd::kAdaGrad, vsgd::kNatural, vsgd::kAdam})
    for (int n : {1, 10}) {
      Case c = make_case(r, algo, vsgd::kDense, false, kAfter, false, n, 0, d);
      c.P.lr0 = 0.01f;
      c.o.lr0 = (double)0.01f;
      cs.push_back(named(c, "traj %s%s n=%d", kAlgoName[algo], "", n));
    }
  return cs;
}

std::string counts_text(const Counts& c) {
  char b[96];
  std::snprintf(b, sizeof b, "%" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64, c.touched, c.skipped, c.outliers, c.boot);
  return b;
}

// 2. every step of a trajectory: the CPU's step from its own float state vs the reference
int cpu_trajectories_vs_reference(Rng& r, size_t d, int steps) {
  Table tab;
  char title[128];
  std::snprintf(title, sizeof title, "CPU backend vs float64 reference, every step of %d-step trajectories", steps);
  tab.header(title, "as above, at every step; counters summed over the steps");
  auto cpu = vsgd::make_cpu_backend(0);
  for (const Case& c : trajectory_cases(r, d)) {
    Cmp ct, cs;
    bool all_ok = true;
    Counts total;
    std::string first_bad;
    auto hook = [&](const Case& cc, const std::vector<float>& th0, const std::vector<float>& st0,
                    const std::vector<float>& grads, const float* extra, const std::vector<float>& th1,
                    const std::vector<float>& st1, const StepStats& st) {
      std::string note;
      bool ok = false;
      check_step_vs_ref(cc, th0.data(), st0.data(), grads.data(), extra, th1.data(), st1.data(), st, kRtolRef, ct, cs,
                        note, ok);
      if (!ok && all_ok) first_bad = "step " + std::to_string((int)cc.t) + ": " + note;
      all_ok = all_ok && ok;
      total.touched += st.touched, total.skipped += st.skipped, total.outliers += st.outliers;
      total.boot += st.bootstrapping;
    };
    run_trajectory(*cpu, c, steps, r(), hook);
    tab.row(c.name, d, ct, cs, nullptr, all_ok, all_ok ? counts_text(total) : first_bad, true);
  }
  std::printf("%d trajectories, %d mismatched\n", tab.rows, tab.failed);
  return tab.failed;
}

// ---------------------------------------------------------------------------------------------
// 3. CUDA vs CPU
// ---------------------------------------------------------------------------------------------

#ifdef VSGD_HAVE_CUDA
void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#endif

// got vs want element by element; `before` gives each element's value before the step.
void compare_arrays(const float* got, const float* want, const float* before, size_t len, size_t d, double rtol,
                    const char* what, Cmp& cmp) {
  // floor per block of d (one state field, or theta)
  for (size_t b0 = 0; b0 < len; b0 += d) {
    double mx = 0;
    for (size_t i = b0; i < std::min(len, b0 + d); ++i) mx = std::max(mx, (double)std::fabs(want[i]));
    for (size_t i = b0; i < std::min(len, b0 + d); ++i) {
      cmp.add(got[i], want[i], before ? before[i] : 0.0, rtol, 0.01 * mx, what, i);
    }
  }
}

constexpr double kRtolCuda = 1e-6, kRtolCudaTraj = 1e-4;

// `cu` against the CPU backend (cu is the CUDA backend here; the comparison itself is generic).
int cuda_vs_cpu_one_step(Backend& cu, const std::vector<std::pair<Case, Inputs>>& cases, size_t& identical,
                         size_t& total, const char* title = nullptr) {
  Table tab;
  tab.header(title ? title : "CUDA vs CPU: probe, step(), then step_device() + read-back, then invalidate() + step()",
             "rtol 1e-6 of |want|+|in|+1% field max; counters exact");
  auto cpu = vsgd::make_cpu_backend(0);
  const bool device = cu.device_rows(1) != nullptr;
  for (const auto& kv : cases) {
    const Case& c = kv.first;
    const Inputs& in = kv.second;
    const size_t d = c.d, rows = (size_t)c.n * d;
    const float* ex_host = c.curv ? in.extra.data() : nullptr;
    Guarded th_c(in.theta), st_c(in.state), th_g(in.theta), st_g(in.state);
    Cmp ct, cs, cp;
    bool counters_ok = true;
    std::string note;
    cu.invalidate();  // new host buffers: upload them
    // probe, with and without rows
    for (bool with_rows : {true, false}) {
      Guarded pc(d), pg(d);
      pc.poison(), pg.poison();
      const StepArgs a_c = args_of(th_c.data(), st_c.data(), d, with_rows ? in.grads.data() : nullptr, nullptr,
                                   with_rows ? c.n : 0);
      StepArgs a_g = a_c;
      a_g.theta = th_g.data(), a_g.state = st_g.data();
      cpu->probe(c.P, a_c, pc.data());
      cu.probe(c.P, a_g, pg.data());
      if (!pg.intact()) cp.fail("probe wrote outside out");
      for (size_t i = 0; i < d; ++i) {
        if (!std::isfinite(pc[i])) {  // NaN rows give a NaN probe on both
          uint32_t a, b;
          std::memcpy(&a, &pc[i], 4), std::memcpy(&b, &pg[i], 4);
          if (std::isnan(pc[i]) ? !std::isnan(pg[i]) : a != b) cp.fail("probe: non-finite element differs");
          continue;
        }
        cp.add(pg[i], pc[i], th_c[i], kRtolCuda, 0.01, "probe", i);
      }
    }
    auto step_both = [&](const char* stage, bool device_rows) {
      std::vector<float> th_before(th_c.data(), th_c.data() + d), st_before(st_c.data(), st_c.data() + st_c.n);
      const StepStats sc = cpu->step(c.P, args_of(th_c.data(), st_c.data(), d, in.grads.data(), ex_host, c.n));
      StepStats sg;
      Guarded th_back(d), st_back(st_g.n);
      th_back.poison(), st_back.poison();
      if (!device_rows) {
        sg = cu.step(c.P, args_of(th_g.data(), st_g.data(), d, in.grads.data(), ex_host, c.n));
        std::copy(th_g.data(), th_g.data() + d, th_back.data());
      } else {
#ifdef VSGD_HAVE_CUDA
        float* dr = cu.device_rows(rows * 2);
        cuda_ok(cudaMemcpy(dr, in.grads.data(), rows * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
        if (ex_host) cuda_ok(cudaMemcpy(dr + rows, ex_host, rows * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
        sg = cu.step_device(c.P, args_of(th_g.data(), st_g.data(), d, dr, ex_host ? dr + rows : nullptr, c.n), false);
        cu.read_theta(th_back.data(), d);
        std::copy(th_back.data(), th_back.data() + d, th_g.data());  // keep the host copy current
#endif
      }
      if (device) cu.read_state(st_back.data(), st_back.n);
      else std::copy(st_g.data(), st_g.data() + st_g.n, st_back.data());  // a host backend's state is current
      if (!th_back.intact() || !st_back.intact()) cs.fail(std::string(stage) + ": read-back wrote outside");
      compare_arrays(th_back.data(), th_c.data(), th_before.data(), d, d, kRtolCuda, "theta", ct);
      compare_arrays(st_back.data(), st_c.data(), st_before.data(), st_c.n, d, kRtolCuda, "state", cs);
      const bool same = sg.touched == sc.touched && sg.skipped == sc.skipped && sg.outliers == sc.outliers &&
                        sg.bootstrapping == sc.bootstrapping;
      if (!same) {
        counters_ok = false;
        note = std::string(stage) + ": cuda " + counts_text(counts(sg)) + " cpu " + counts_text(counts(sc));
      } else if (note.empty()) {
        note = counts_text(counts(sg));
      }
      if (device && !cu.device_resident()) cs.fail(std::string(stage) + ": backend does not say it is device-resident");
    };
    step_both("step", false);
    step_both(device ? "step_device" : "step again", device);
    // the caller changes theta and state on the host: invalidate() must upload both
    for (size_t i = 0; i < d; ++i) th_c[i] = th_g[i] = th_c[i] * 0.5f + 0.25f;
    for (size_t k = 0; k < st_c.n; ++k) st_g[k] = st_c[k];
    cu.invalidate();
    step_both("invalidate+step", false);
    const bool guards = th_c.intact() && st_c.intact() && th_g.intact() && st_g.intact();
    identical += ct.identical + cs.identical + cp.identical;
    total += ct.count + cs.count + cp.count;
    tab.row(c.name, d, ct, cs, &cp, counters_ok, note, guards);
  }
  std::printf("%d cases, %d mismatched\n", tab.rows, tab.failed);
  return tab.failed;
}

int cuda_vs_cpu_trajectories(Backend& cu, Rng& r, size_t d, int steps, size_t& identical, size_t& total,
                             const char* who = "CUDA") {
  Table tab;
  char title[128];
  std::snprintf(title, sizeof title, "%s vs CPU: %d-step trajectories, each backend with its own probes", who, steps);
  tab.header(title, "rtol 1e-4 at the end; counters equal at every step");
  auto cpu = vsgd::make_cpu_backend(0);
  for (const Case& c : trajectory_cases(r, d)) {
    const uint64_t seed = r();
    const Traj a = run_trajectory(*cpu, c, steps, seed, nullptr);
    const Traj b = run_trajectory(cu, c, steps, seed, nullptr);
    Cmp ct, cs;
    compare_arrays(b.theta.data(), a.theta.data(), nullptr, d, d, kRtolCudaTraj, "theta", ct);
    compare_arrays(b.state.data(), a.state.data(), nullptr, a.state.size(), d, kRtolCudaTraj, "state", cs);
    bool same = a.stats.size() == b.stats.size();
    Counts sum;
    std::string note;
    for (size_t s = 0; same && s < a.stats.size(); ++s) {
      const Counts &x = a.stats[s], &y = b.stats[s];
      if (x.touched != y.touched || x.skipped != y.skipped || x.outliers != y.outliers || x.boot != y.boot) {
        same = false;
        note = "step " + std::to_string(s) + ": cuda " + counts_text(y) + " cpu " + counts_text(x);
      }
      sum.touched += x.touched, sum.skipped += x.skipped, sum.outliers += x.outliers, sum.boot += x.boot;
    }
    if (same) note = counts_text(sum);
    identical += ct.identical + cs.identical;
    total += ct.count + cs.count;
    tab.row(c.name, d, ct, cs, nullptr, same, note, true);
  }
  std::printf("%d trajectories, %d mismatched\n", tab.rows, tab.failed);
  return tab.failed;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = (uint64_t)std::chrono::high_resolution_clock::now().time_since_epoch().count();
  size_t d = 4099;  // not a multiple of the CPU block (512) nor of the CUDA block (256)
  bool quick = false, require_cuda = false, d_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--d" && i + 1 < argc) d = std::strtoull(argv[++i], nullptr, 10), d_given = true;
    else if (a == "--quick") quick = true;
    else if (a == "--require-cuda") require_cuda = true;
    else {
      std::fprintf(stderr, "usage: %s [--seed N] [--d N] [--quick] [--require-cuda]\n", argv[0]);
      return 2;
    }
  }
  if (quick && !d_given) d = 1029;
  if (d == 0) d = 1;
  const size_t d_traj = quick ? 300 : 2000;
  const int steps_ref = quick ? 20 : 60, steps_cuda = quick ? 30 : 100;
  std::printf("vsgd_selfcheck seed=%" PRIu64 " d=%zu%s  (rerun with --seed %" PRIu64 "%s)\n", seed, d,
              quick ? " quick" : "", seed, quick ? " --quick" : "");
  Rng r(seed);
  int failed = 0;
  std::vector<std::pair<Case, Inputs>> kept;
  try {
    failed += cpu_vs_reference(r, d, kept);
    failed += cpu_trajectories_vs_reference(r, d_traj, steps_ref);
  } catch (const std::exception& e) {
    std::printf("CPU check threw: %s\n", e.what());
    ++failed;
  }

  const vsgd::CudaInfo ci = vsgd::cuda_info();
  std::string why;
  std::unique_ptr<Backend> cu = vsgd::make_cuda_backend(why);
  bool cuda_ran = false;
  if (!cu) {
    std::printf("\nCUDA: skipped (compiled: %s; %s)\n", ci.compiled ? "yes" : "no", why.c_str());
  } else {
#ifdef VSGD_HAVE_CUDA
    std::printf("\nCUDA device: %s\n", ci.device.c_str());
    size_t same1 = 0, all1 = 0, same2 = 0, all2 = 0;
    try {
      failed += cuda_vs_cpu_one_step(*cu, kept, same1, all1);
      failed += cuda_vs_cpu_trajectories(*cu, r, d_traj, steps_cuda, same2, all2);
      cuda_ran = true;
      std::printf("CUDA results bit-identical to CPU: one step %zu/%zu elements, trajectories %zu/%zu\n", same1, all1,
                  same2, all2);
    } catch (const std::exception& e) {
      std::printf("CUDA check threw: %s\n", e.what());
      ++failed;
    }
#endif
  }
  std::printf("\nRESULT: %s (seed %" PRIu64 "; CUDA %s)\n", failed ? "FAIL" : "PASS", seed,
              cuda_ran ? "checked" : "skipped");
  if (failed) return 1;
  if (require_cuda && !cuda_ran) return 2;
  return 0;
}
