// vsgd_selfcheck: the backends against an independent float64 re-implementation of docs/algorithm.md, and
// the CUDA backend against the CPU backend, on fresh random inputs (seeded from the clock; the seed
// is printed and --seed reproduces a run). Needs no Node.
//
//   1. CPU vs reference, one step: every algorithm (the baselines also with a sparsity setting,
//      which they must ignore), and for vSGD-fd / vSGD every sparsity mode, with and without
//      curvature rows, in bootstrap and after, outlier test on and off, n = 1 and n = 7; every
//      output element (theta, every state slot, the probe point) and the four counters. Inputs
//      include zero entries, fully inactive coordinates, NaN / Inf and overflowing values, and
//      poison (NaN) in curvature entries of inactive rows. Outputs that the backend must write
//      (probe out, read-back buffers) are poisoned with NaN first, and every buffer has canaries
//      on both sides.
//   2. CPU vs reference along 60-step trajectories of a noisy quadratic (the reference restarts
//      from the backend's float state every step), so bootstrap ends, outliers and sparse
//      updates are checked on values the dynamics really produce.
//   3. The same harness on the mirror backend (the CPU as a device-resident stand-in), the
//      generic CPU kernels against the AVX2 ones, and the blocked dense pass against the fused
//      one (bit for bit).
//   4. CUDA vs CPU when a device is usable: one step of every case above (1e-6 relative), the
//      device-rows path (step_device), read-back, invalidate(), and 100-step trajectories (1e-4);
//      CUDA's first step is also checked against the reference, like the CPU's. The cases run
//      at d = 4099 (one coordinate per thread) and again at a multiple of 4 (four per thread).
//
// Tolerances: |got - want| <= rtol * (|want| + |before| + 1% of the field's largest |want|) plus,
// where the result is ill-conditioned, the propagated rounding of the quantity that cancels (see
// RefOut::slack); rtol = 2e-5 against the reference, 1e-6 CUDA against CPU (which agree bit for
// bit when neither contracts multiply-adds: docs/cuda.md). An outlier decision within rounding
// of its threshold may go either way against the reference.
//
// The reference below is written from docs/algorithm.md and the conventions of vsgd_math.h's
// comments (tau <= 0 means bootstrapping with -tau samples seen, g/v/h/vh then hold plain
// means; sparse active rows are the non-zero entries; a bootstrapping coordinate without
// curvature rows is left alone; otherwise a non-finite input skips the coordinate, and so does
// an overflowing result; a non-finite probe mean gives delta = eps; 'global' p during bootstrap
// is p += (m/n - p)*(m/total); the memory factor 1 - g^2/(v+eps) is clamped at 0). It shares no
// arithmetic with vsgd_math.h; it uses only vsgd_math.h's state layout and Params, which are the interface.
//
// Usage: vsgd_selfcheck [--seed N] [--d N] [--quick] [--require-cuda]
// Exit status: 0 all checks passed (CUDA may be skipped), 1 a mismatch, 2 bad usage or CUDA
// required but unavailable. VSGD_SELFCHECK_VERBOSE=1 prints each row's worst element.
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
#include "reference.h"
#ifdef VSGD_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using vsgd::Backend;
using vsgd::Layout;
using vsgd::Params;
using vsgd::StepArgs;
using vsgd::StepStats;
using namespace vsgd_ref;

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

Case reweighted(Case c) {
  c.P.reweight = 1;
  c.name += " reweight";
  return c;
}

Case signed_variant(Case c) {
  c.P.variant = c.o.variant = vsgd::kSigned;
  c.name += " signed";
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
// probe1 (when not null, vSGD-fd only): the next probe point the step wrote (StepArgs::probe_out),
// checked against theta + delta of the reference's new state, into *cmp_probe.
void check_step_vs_ref(const Case& c, const float* theta0, const float* state0, const float* grads,
                       const float* extra, const float* theta1, const float* state1, const StepStats& stats,
                       double rtol, Cmp& cmp_theta, Cmp& cmp_state, std::string& counter_note, bool& counters_ok,
                       const float* probe1 = nullptr, Cmp* cmp_probe = nullptr) {
  const size_t d = c.d;
  const int n = c.n;
  const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
  int sl[kFields];
  slots(L, sl);
  std::vector<double> x(n), e(n);
  std::vector<RefOut> want(d), alt(d);
  std::vector<char> amb(d, 0);
  RefReweight rw;
  if (c.P.reweight) rw = ref_reweight(grads, n, d);
  const RefReweight* rwp = c.P.reweight ? &rw : nullptr;
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
      want[i] = ref_vsgd(c.o, s, theta0[i], x.data(), use_e ? e.data() : nullptr, n, false, &a, rwp, i);
      if (a) {
        amb[i] = 1, ++amb_count;
        alt[i] = ref_vsgd(c.o, s, theta0[i], x.data(), use_e ? e.data() : nullptr, n, true, &unused, rwp, i);
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
  const bool check_probe = probe1 && cmp_probe && c.P.algo == vsgd::kVsgdFd;
  auto compare = [&](Cmp& ct, Cmp& cs, Cmp& cp, const RefOut& w, size_t i) {
    ct.add(theta1[i], w.theta, theta0[i], rtol, floor_f[kFields], "theta", i, w.slack[kFields]);
    for (int f = 0; f < kFields; ++f) {
      if (sl[f] < 0) continue;
      const size_t k = (size_t)sl[f] * d + i;
      cs.add(state1[k], field(w.s, f), state0[k], rtol, floor_f[f], kFieldName[f], i, w.slack[f]);
    }
    if (check_probe) {
      double err = 0;
      // the sign of the 'signed' probe hashes the bits of the stored g and v: those of the backend
      Cell stored = w.s;
      if (sl[kG] >= 0) stored.g = state1[(size_t)sl[kG] * d + i];
      if (sl[kV] >= 0) stored.v = state1[(size_t)sl[kV] * d + i];
      const double next = w.theta + ref_delta(c.o, w.s, nullptr, 0, &err, i, &stored);
      cp.add(probe1[i], next, w.theta, rtol, floor_f[kFields], "next probe", i,
             err + w.slack[kG] + w.slack[kFields]);
    }
  };
  Cmp unused_probe;
  Cmp& cmp_p = cmp_probe ? *cmp_probe : unused_probe;
  for (size_t i = 0; i < d; ++i) {
    if (!amb[i]) {
      compare(cmp_theta, cmp_state, cmp_p, want[i], i);
      continue;
    }
    // either outcome of a decision on its threshold passes
    Cmp t1, s1, p1, t2, s2, p2;
    compare(t1, s1, p1, want[i], i);
    compare(t2, s2, p2, alt[i], i);
    const bool second = (t1.bad + s1.bad + p1.bad) > 0 && (t2.bad + s2.bad + p2.bad) == 0;
    cmp_theta.merge(second ? t2 : t1);
    cmp_state.merge(second ? s2 : s1);
    cmp_p.merge(second ? p2 : p1);
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
    want[i] = theta[i] + ref_delta(c.o, s, x.data(), with_rows ? c.n : 0, &err[i], i);
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
  bool with_ref = false;  // one more column: the same backend's results against the reference
  void header(const char* title, const char* tol, bool ref_column = false) {
    with_ref = ref_column;
    std::printf("\n%s (tolerance: %s)\n", title, tol);
    std::printf("%-44s %7s %9s %9s %9s%s %-24s %s\n", "case", "d", "theta", "state", "probe",
                with_ref ? "    vs ref" : "", "counters t/s/o/b", "result");
  }
  void row(const std::string& name, size_t d, const Cmp& th, const Cmp& st, const Cmp* pr, bool counters_ok,
           const std::string& counters, bool guards_ok, const Cmp* ref = nullptr) {
    const bool ok = th.bad == 0 && st.bad == 0 && (!pr || pr->bad == 0) && (!ref || ref->bad == 0) && counters_ok &&
                    guards_ok;
    ++rows;
    failed += !ok;
    auto fmt = [](const Cmp* c) {
      char b[32];
      if (!c || c->count == 0) return std::string("-");
      std::snprintf(b, sizeof b, "%.2g", c->worst);
      return std::string(b);
    };
    std::string refcol;
    if (with_ref) refcol = " " + std::string(9 - std::min<size_t>(9, fmt(ref).size()), ' ') + fmt(ref);
    std::printf("%-44s %7zu %9s %9s %9s%s %-24s %s\n", name.c_str(), d, fmt(&th).c_str(), fmt(&st).c_str(),
                fmt(pr).c_str(), refcol.c_str(), counters.c_str(), ok ? "ok" : "MISMATCH");
    if (std::getenv("VSGD_SELFCHECK_VERBOSE")) {
      if (th.worst > 0) std::printf("    worst theta: %s\n", th.worst_at.c_str());
      if (st.worst > 0) std::printf("    worst state: %s\n", st.worst_at.c_str());
      if (pr && pr->worst > 0) std::printf("    worst probe: %s\n", pr->worst_at.c_str());
    }
    if (!ok) {
      if (!th.first.empty()) std::printf("    first theta mismatch: %s\n", th.first.c_str());
      if (!st.first.empty()) std::printf("    first state mismatch: %s\n", st.first.c_str());
      if (pr && !pr->first.empty()) std::printf("    first probe mismatch: %s\n", pr->first.c_str());
      if (ref && !ref->first.empty()) std::printf("    first mismatch against the reference: %s\n", ref->first.c_str());
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
  // baselines take every row (docs/algorithm.md: the plain mean): a sparsity setting must not change them
  for (int algo : {vsgd::kSgd, vsgd::kAdaGrad, vsgd::kNatural, vsgd::kAdam}) {
    for (double t : {0.0, 37.0, 250.0})
      for (int n : {1, 7}) cs.push_back(make_case(r, algo, vsgd::kDense, false, kAfter, false, n, t, d));
    Case c = make_case(r, algo, vsgd::kInstance, false, kAfter, false, 7, 5, d);
    c.name += " instance(ignored)";
    cs.push_back(c);
  }
  // orthogonal reweighting (eq. 5): dense rows only
  for (int algo : {vsgd::kVsgdFd, vsgd::kVsgd})
    for (bool curv : {true, false})
      for (int phase : {kAfter, kBootPhase})
        for (int n : {1, 7}) cs.push_back(reweighted(make_case(r, algo, vsgd::kDense, curv, phase, true, n, 0, d)));
  // vSGD-fd's 'signed' variant (the default): its probe and rate
  for (int sp : {vsgd::kDense, vsgd::kInstance, vsgd::kGlobal})
    for (bool curv : {true, false})
      for (int phase : {kAfter, kBootPhase})
        for (int n : {1, 7}) cs.push_back(signed_variant(make_case(r, vsgd::kVsgdFd, sp, curv, phase, true, n, 0, d)));
  cs.push_back(signed_variant(reweighted(make_case(r, vsgd::kVsgdFd, vsgd::kDense, true, kAfter, true, 7, 0, d))));
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
    // the fused next probe point, where the backend offers it (poisoned: unwritten elements show)
    Guarded next(d);
    next.poison();
    StepArgs a = args_of(theta.data(), state.data(), d, grads.data(), ex, c.n);
    if (cpu->fuses_probe()) a.probe_out = next.data();
    const StepStats st = cpu->step(c.P, a);
    vsgd::derive_eta(c.P, c.n, state.data(), d, d, 0);  // as a read of the state does
    Cmp ct, cs;
    std::string note;
    bool cok = false;
    check_step_vs_ref(c, in.theta.data(), in.state.data(), in.grads.data(), c.curv ? in.extra.data() : nullptr,
                      theta.data(), state.data(), st, kRtolRef, ct, cs, note, cok, a.probe_out, &cp);
    const bool guards = theta.intact() && state.intact() && grads.intact() && extra.intact() && next.intact();
    tab.row(c.name, d, ct, cs, is_vsgd(c.P.algo) ? &cp : nullptr, cok, note, guards);
  }
  std::printf("%d cases, %d mismatched\n", tab.rows, tab.failed);
  return tab.failed;
}

// ---------------------------------------------------------------------------------------------
// trajectories of a noisy separable quadratic (f_quad of docs/experiments.md, with optional sparsity)
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
    vsgd::derive_eta(c.P, c.n, tr.state.data(), d, d, 0);  // as a read of the state does
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
        const Case plain = cs.back();
        if (sp == vsgd::kDense && n > 1) cs.push_back(reweighted(plain));
        if (algo == vsgd::kVsgdFd) cs.push_back(signed_variant(plain));
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
                    const char* what, Cmp& cmp, const double* slack = nullptr) {
  // floor per block of d (one state field, or theta)
  for (size_t b0 = 0; b0 < len; b0 += d) {
    double mx = 0;
    for (size_t i = b0; i < std::min(len, b0 + d); ++i) mx = std::max(mx, (double)std::fabs(want[i]));
    for (size_t i = b0; i < std::min(len, b0 + d); ++i) {
      cmp.add(got[i], want[i], before ? before[i] : 0.0, rtol, 0.01 * mx, what, i, slack ? slack[i] : 0.0);
    }
  }
}

// The reference's rounding allowance for one step (RefOut::slack), laid out like theta and the
// state buffer: two float implementations may differ by about that much where the result is
// ill-conditioned (zero when the arithmetic is the same: then the backends agree bit for bit).
void step_slack(const Case& c, const float* theta0, const float* state0, const float* grads, const float* extra,
                std::vector<double>& th_slack, std::vector<double>& st_slack) {
  const size_t d = c.d;
  const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
  int sl[kFields];
  slots(L, sl);
  th_slack.assign(d, 0.0);
  st_slack.assign((size_t)L.count * d, 0.0);
  if (!is_vsgd(c.P.algo)) return;
  RefReweight rw;
  if (c.P.reweight) rw = ref_reweight(grads, c.n, d);
  std::vector<double> x(c.n), e(c.n);
  for (size_t i = 0; i < d; ++i) {
    Cell s;
    for (int f = 0; f < kFields; ++f)
      if (sl[f] >= 0) field(s, f) = state0[(size_t)sl[f] * d + i];
    for (int j = 0; j < c.n; ++j) {
      x[j] = grads[(size_t)j * d + i];
      if (extra) e[j] = extra[(size_t)j * d + i];
    }
    bool amb = false;
    const RefOut w = ref_vsgd(c.o, s, theta0[i], x.data(), extra ? e.data() : nullptr, c.n, false, &amb,
                              c.P.reweight ? &rw : nullptr, i);
    th_slack[i] = w.slack[kFields];
    for (int f = 0; f < kFields; ++f)
      if (sl[f] >= 0) st_slack[(size_t)sl[f] * d + i] = w.slack[f];
  }
}

constexpr double kRtolCuda = 1e-6, kRtolCudaTraj = 1e-4;

// `cu` against the CPU backend (cu is the CUDA backend here; the comparison itself is generic).
int cuda_vs_cpu_one_step(Backend& cu, const std::vector<std::pair<Case, Inputs>>& cases, size_t& identical,
                         size_t& total, int& ref_failed, const char* title = nullptr) {
  Table tab;
  tab.header(title ? title : "CUDA vs CPU: probe, step(), then step_device() + read-back, then invalidate() + step()",
             "rtol 1e-6 of |want|+|in|+1% field max, plus the reference's rounding allowance; counters exact; "
             "'vs ref': the first step against the float64 reference, as the CPU above",
             true);
  auto cpu = vsgd::make_cpu_backend(0);
  const bool device = cu.device_rows(1) != nullptr;
  for (const auto& kv : cases) {
    const Case& c = kv.first;
    const Inputs& in = kv.second;
    const size_t d = c.d, rows = (size_t)c.n * d;
    const float* ex_host = c.curv ? in.extra.data() : nullptr;
    Guarded th_c(in.theta), st_c(in.state), th_g(in.theta), st_g(in.state);
    Cmp ct, cs, cp, cref;
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
      const Layout L = vsgd::layout(c.P.algo, c.P.sparsity);
      int sl[kFields];
      slots(L, sl);
      std::vector<double> x(c.n, 0.0);
      for (size_t i = 0; i < d; ++i) {
        if (!std::isfinite(pc[i])) {  // left unwritten (NaN) by both where there is no probe point
          uint32_t a, b;
          std::memcpy(&a, &pc[i], 4), std::memcpy(&b, &pg[i], 4);
          if (std::isnan(pc[i]) ? !std::isnan(pg[i]) : a != b) cp.fail("probe: non-finite element differs");
          continue;
        }
        Cell s;
        for (int f = 0; f < kFields; ++f)
          if (sl[f] >= 0) field(s, f) = st_c[(size_t)sl[f] * d + i];
        for (int j = 0; j < c.n; ++j) x[j] = with_rows ? in.grads[(size_t)j * d + i] : 0.0;
        double err = 0;
        ref_delta(c.o, s, x.data(), with_rows ? c.n : 0, &err, i);
        cp.add(pg[i], pc[i], th_c[i], kRtolCuda, 0.01, "probe", i, err);
      }
    }
    auto step_both = [&](const char* stage, bool device_rows) {
      std::vector<float> th_before(th_c.data(), th_c.data() + d), st_before(st_c.data(), st_c.data() + st_c.n);
      // the fused next probe point too, when both offer it (poisoned: what is not written shows)
      const bool fused = cpu->fuses_probe() && cu.fuses_probe();
      Guarded next_c(d), next_g(d);
      next_c.poison(), next_g.poison();
      StepArgs ac = args_of(th_c.data(), st_c.data(), d, in.grads.data(), ex_host, c.n);
      if (fused) ac.probe_out = next_c.data();
      const StepStats sc = cpu->step(c.P, ac);
      vsgd::derive_eta(c.P, c.n, st_c.data(), d, d, 0);  // as a read of the state does
      StepStats sg;
      Guarded th_back(d), st_back(st_g.n);
      th_back.poison(), st_back.poison();
      if (!device_rows) {
        StepArgs ag = args_of(th_g.data(), st_g.data(), d, in.grads.data(), ex_host, c.n);
        if (fused) ag.probe_out = next_g.data();
        sg = cu.step(c.P, ag);
        std::copy(th_g.data(), th_g.data() + d, th_back.data());
      } else {
#ifdef VSGD_HAVE_CUDA
        float* dr = cu.device_rows(rows * 2);
        cuda_ok(cudaMemcpy(dr, in.grads.data(), rows * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
        if (ex_host) cuda_ok(cudaMemcpy(dr + rows, ex_host, rows * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
        StepArgs ag = args_of(th_g.data(), st_g.data(), d, dr, ex_host ? dr + rows : nullptr, c.n);
        if (fused) ag.probe_out = next_g.data();
        sg = cu.step_device(c.P, ag, false);
        cu.read_theta(th_back.data(), d);
        std::copy(th_back.data(), th_back.data() + d, th_g.data());  // keep the host copy current
#endif
      }
      if (cu.device_resident()) cu.read_state(st_back.data(), st_back.n);
      else std::copy(st_g.data(), st_g.data() + st_g.n, st_back.data());  // a host backend's state is current
      vsgd::derive_eta(c.P, c.n, st_back.data(), d, d, 0);
      if (!th_back.intact() || !st_back.intact()) cs.fail(std::string(stage) + ": read-back wrote outside");
      if (std::strcmp(stage, "step") == 0) {  // this backend's first step against the reference too
        Cmp rt, rs;
        std::string rnote;
        bool rok = false;
        check_step_vs_ref(c, th_before.data(), st_before.data(), in.grads.data(), ex_host, th_back.data(),
                          st_back.data(), sg, kRtolRef, rt, rs, rnote, rok);
        cref.merge(rt);
        cref.merge(rs);
        if (!rok) cref.fail("counters against the reference: " + rnote);
      }
      std::vector<double> th_slack, st_slack;
      step_slack(c, th_before.data(), st_before.data(), in.grads.data(), is_vsgd(c.P.algo) ? ex_host : nullptr,
                 th_slack, st_slack);
      compare_arrays(th_back.data(), th_c.data(), th_before.data(), d, d, kRtolCuda, "theta", ct, th_slack.data());
      compare_arrays(st_back.data(), st_c.data(), st_before.data(), st_c.n, d, kRtolCuda, "state", cs, st_slack.data());
      if (fused) {
        if (!next_c.intact() || !next_g.intact()) cp.fail(std::string(stage) + ": the next probe wrote outside");
        for (size_t i = 0; i < d; ++i) {
          if (std::isnan(next_c[i]) || std::isnan(next_g[i])) {  // unwritten (no probe point) on both, or a bug
            if (std::isnan(next_c[i]) != std::isnan(next_g[i])) cp.fail(std::string(stage) + ": next probe written by one only");
            continue;
          }
          // θ' + δ': the allowance of θ' and g' (a cancelling g' moves δ' by its rounding)
          const size_t kg = vsgd::layout(c.P.algo, c.P.sparsity).g;
          cp.add(next_g[i], next_c[i], th_c[i], kRtolCuda, 0.01, "next probe", i,
                 th_slack[i] + st_slack[kg * d + i]);
        }
      }
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
    tab.row(c.name, d, ct, cs, &cp, counters_ok, note, guards, &cref);
    ref_failed += cref.bad > 0;
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

// `other` through the CUDA-vs-CPU harness where it must give the CPU's bits on every element:
// returns the number of failures, printing the identical-element counts.
int bits_as_cpu(Backend& other, const char* who, const char* title, const char* why,
                const std::vector<std::pair<Case, Inputs>>& kept, Rng& r, size_t d_traj, int steps) {
  size_t same1 = 0, all1 = 0, same2 = 0, all2 = 0;
  int ref_failed = 0, failed = 0;
  try {
    const std::string head = std::string(title) + ": probe, step(), again, invalidate() + step()";
    failed += cuda_vs_cpu_one_step(other, kept, same1, all1, ref_failed, head.c_str());
    failed += cuda_vs_cpu_trajectories(other, r, d_traj, steps, same2, all2, who);
    std::printf("%s bit-identical to the CPU: one step %zu/%zu elements, trajectories %zu/%zu\n", who, same1, all1, same2,
                all2);
    if (same1 != all1 || same2 != all2) std::printf("MISMATCH: %s\n", why), ++failed;
  } catch (const std::exception& e) {
    std::printf("%s check threw: %s\n", who, e.what());
    ++failed;
  }
  return failed;
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
  std::printf("vsgd_selfcheck seed=%" PRIu64 " d=%zu%s cpu=%s  (rerun with --seed %" PRIu64 "%s)\n", seed, d,
              quick ? " quick" : "", vsgd::cpu_isa(), seed, quick ? " --quick" : "");
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

  // The CPU builds of the kernels (docs/cuda.md, "Rounding"): none contracts multiply-adds, and
  // 8 or 16 lanes only group the same per-lane operations, so every lower build must agree with
  // the one that runs bit for bit, as CUDA and the CPU must; a stand-in for that comparison that
  // runs without a GPU.
  for (int isa = vsgd::kIsaGeneric; isa < vsgd::cpu_isa_level(); ++isa) {
    const std::string what = std::string("CPU ") + vsgd::cpu_isa(isa) + " kernels vs CPU " + vsgd::cpu_isa() + " kernels";
    failed += bits_as_cpu(*vsgd::make_cpu_backend(0, isa), vsgd::cpu_isa(isa), what.c_str(),
                          "the CPU builds round differently (is multiply-add contraction back on?)", kept, r, d_traj,
                          steps_cuda);
  }
  // The dense pass's two shapes (cpu_kernels.h): every row's sums in registers, or blocks of
  // coordinates whose rows come in chunks through a buffer. Both add the rows in row order, so
  // they must agree bit for bit; chunks of 3 rows make n = 7 and n = 10 cross chunk boundaries.
  {
    vsgd::CpuOptions o;
    o.fused_rows = 0, o.chunk_rows = 3;
    failed += bits_as_cpu(*vsgd::make_cpu_backend(o), "blocked", "CPU blocked pass (chunks of 3 rows) vs CPU fused pass",
                          "the blocked pass sums the rows in another order or loses digits in its buffer", kept, r,
                          d_traj, steps_ref);
  }
  // The mirror backend (a device-resident stand-in on the CPU): exercises this harness's
  // device-resident branches (state read back, invalidate()) where there is no GPU.
  failed += bits_as_cpu(*vsgd::make_mirror_backend(0), "mirror", "mirror backend vs CPU",
                        "the mirror backend runs the CPU's kernels and must give their bits", kept, r, d_traj, steps_ref);

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
    int ref_failed = 0;
    try {
      // d = 4099 takes the one-coordinate kernel; a multiple of 4 the four-coordinate one (16-byte
      // accesses), which the trajectories (d a multiple of 4) take too
      int f1 = cuda_vs_cpu_one_step(*cu, kept, same1, all1, ref_failed);
      if (d % 4 != 0) {
        std::vector<std::pair<Case, Inputs>> kept4;
        for (const Case& c : all_cases(r, (d + 3) / 4 * 4)) kept4.emplace_back(c, make_inputs(r, c));
        f1 += cuda_vs_cpu_one_step(*cu, kept4, same1, all1, ref_failed,
                                   "CUDA vs CPU, d a multiple of 4 (four coordinates per thread): probe, step(), "
                                   "step_device() + read-back, invalidate() + step()");
      }
      const int f2 = cuda_vs_cpu_trajectories(*cu, r, d_traj, steps_cuda, same2, all2);
      failed += f1 + f2;
      cuda_ran = true;
      std::printf("CUDA results bit-identical to CPU: one step %zu/%zu elements, trajectories %zu/%zu\n", same1, all1,
                  same2, all2);
      if ((f1 || f2) && ref_failed == 0)
        std::printf("note: CUDA agrees with the float64 reference in every case; what differs from the CPU backend "
                    "(ISA %s) is rounding. The CUDA kernel does not contract multiply-adds (--fmad=false); a CPU "
                    "build that does (-mfma without -ffp-contract=off) rounds differently, and decisions on a "
                    "threshold (the outlier test) then go either way.\n",
                    vsgd::cpu_isa());
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
