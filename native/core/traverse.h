// One step of one coordinate, written once: the per-coordinate sequence that every traversal
// runs, for one coordinate or one group of lanes (vsgd_math.h's lane types):
//
//   row sums -> probe offset -> curvature sums scaled -> means -> apply -> store -> next probe point
//
// The traversals only say where the rows come from and where the results go:
//   - dense rows, CPU (cpu_kernels.h) and CUDA (cuda.cu): n streams of d floats, summed by
//     add_rows() in registers, or, for many rows, a block of coordinates at a time into a SumsBuf;
//   - sparse rows (sparse.cpp): CSR entries, added per coordinate by the entry functions;
//   - the accumulate form (accumulate.cpp): rows a few at a time into d-sized sums (SumsBuf);
// and every one of them ends a coordinate with finish() (an update) or probe_point() (θ + δ).
// Adding an algorithm or a state field touches vsgd_math.h (and layout()), not this file's callers.
//
// Phases. A step is (a) sums, (b) reduce, (c) finish; the fused pass runs (a) and (c) back to
// back with the sums in registers. A data-parallel step runs them apart:
//   (a) each process adds its local rows into a SumsBuf (add_rows() then store(), or the entry
//       functions add_grad/add_curv/add_dir): Σ∇ and Σ w∇ in double, Σ∇², Σc, Σc² and the
//       active-row count m in float. Σc and Σc² need no δ: c is curv_sample() (|∇ − ∇'|, or
//       ∇' − ∇ under 'signed', for vSGD-fd; |supplied curvature| for vSGD), scaled by
//       curv_scale(δ) in (c). Σ w∇ (reweighting) needs the weights
//       of eq. 5, which come from the global Gram matrix, before it.
//   (b) the caller all-reduces the buffers (a sum per field) and the row count n (StepK);
//   (c) finish() from the reduced sums: δ from the global mean and the state, the curvature
//       scaled, means, apply, store, next probe point.
// While a coordinate bootstraps, its probe point θ + δ needs the global mean of the step's
// gradients before the shifted rows can be evaluated: probe() is (a) with gradient rows only,
// (b), then probe_point(). Sums of disjoint rows add up in any grouping, but float addition is
// not associative, so a reduced step rounds differently from one process summing every row in
// row order (which is what the fused pass, the sparse rows and the accumulate form all do, so
// that they agree bit for bit).
#pragma once
#include <stddef.h>

#include "vsgd_math.h"

namespace vsgd {

// ---- (a) Sums of one coordinate (lane group) over its active rows.
template <class F> struct SumsT {
  F m;            // active rows; counted in the sparse modes only (dense rows are all active)
  wide_t<F> s1;   // Σ∇ in double: a mean far smaller than its terms keeps its digits
  // Σ∇², Σc, Σc²: terms of one sign, so float loses nothing to cancellation; but for Σc under
  // 'signed', whose mean may cancel below the size of its terms (as the references allow)
  F s2, c1, c2;
  wide_t<F> dir;  // with reweighting: Σ_j w_j ∇_j
};
template <class F> VSGD_HD SumsT<F> sums_zero() {
  SumsT<F> s;
  s.m = s.s2 = s.c1 = s.c2 = F{};
  s.s1 = s.dir = wide_t<F>{};
  return s;
}

// One gradient entry. Inactive entries are zeros, which add nothing (m aside).
template <int SP, class F> VSGD_HD void add_grad(SumsT<F>& s, F x) {
  if (!all_active(SP)) s.m = s.m + (x != 0.0f ? bc<F>(1) : bc<F>(0));
  s.s1 = s.s1 + widen(x);
  s.s2 = s.s2 + x * x;
}
// One curvature entry: x the gradient, e the shifted gradient (vSGD-fd) or the curvature (vSGD).
// An inactive row's e is ignored whatever it holds.
template <int ALGO, int SP, class F> VSGD_HD void add_curv(const Params& P, SumsT<F>& s, F x, F e) {
  F c = curv_sample<ALGO>(P, x, e);
  if (!all_active(SP)) c = x != 0.0f ? c : bc<F>(0);
  s.c1 = s.c1 + c;
  if (ALGO == kVsgdFd) s.c2 = s.c2 + c * c;
}
// One entry of the reweighted direction (eq. 5), weight w of its row.
template <class F> VSGD_HD void add_dir(SumsT<F>& s, double w, F x) { s.dir = s.dir + widen(x) * w; }

// Dense rows: row j of coordinate i at grads[j*d + i] (extra alike; null: no curvature rows;
// weights: null without reweighting).
struct DenseRows {
  const float* grads;
  const float* extra;
  const float* weights;
  size_t d;
};

// Rows j0 .. j1-1 of the coordinate(s) at i into s, in row order. G > 1: G lane groups side by
// side (s[0..G-1], coordinates i, i + lanes, ...), so that each row's cache line is read whole
// before the next row's: many streams at one offset in their pages share a set of the L1, and a
// line read half at a time may be evicted between its halves (docs/performance.md).
template <int ALGO, int SP, int G = 1, class F>
VSGD_HD void add_rows(const Params& P, SumsT<F>* s, const DenseRows& r, size_t i, int j0, int j1) {
  constexpr size_t W = sizeof(F) / sizeof(float);
  const float* g = r.grads + i;
  const float* e = uses_sparsity(ALGO) && r.extra ? r.extra + i : nullptr;
  if (r.weights) {  // reweighting: the direction too (rare; a plain loop)
    for (int j = j0; j < j1; ++j)
      for (int k = 0; k < G; ++k) {
        const F x = lane_load<F>(g + (size_t)j * r.d + k * W);
        add_grad<SP>(s[k], x);
        add_dir(s[k], (double)r.weights[j], x);
        if (e) add_curv<ALGO, SP>(P, s[k], x, lane_load<F>(e + (size_t)j * r.d + k * W));
      }
  } else if (e) {
    for (int j = j0; j < j1; ++j) {
      F x[G], y[G];
      for (int k = 0; k < G; ++k) x[k] = lane_load<F>(g + (size_t)j * r.d + k * W);
      for (int k = 0; k < G; ++k) y[k] = lane_load<F>(e + (size_t)j * r.d + k * W);
      for (int k = 0; k < G; ++k) add_grad<SP>(s[k], x[k]), add_curv<ALGO, SP>(P, s[k], x[k], y[k]);
    }
  } else {
    for (int j = j0; j < j1; ++j)
      for (int k = 0; k < G; ++k) add_grad<SP>(s[k], lane_load<F>(g + (size_t)j * r.d + k * W));
  }
}
template <int ALGO, int SP, class F>
VSGD_HD void add_rows(const Params& P, SumsT<F>& s, const DenseRows& r, size_t i, int j0, int j1) {
  add_rows<ALGO, SP, 1>(P, &s, r, i, j0, j1);
}

// Sums of many coordinates, field by field (structure of arrays): the buffer of phase (a).
// dir may be null when nothing reweights.
struct SumsBuf {
  float* m;
  double* s1;
  float *s2, *c1, *c2;
  double* dir;
  template <class F> VSGD_HD SumsT<F> load(size_t k) const {
    SumsT<F> s;
    s.m = lane_load<F>(m + k), s.s1 = wide_load<F>(s1 + k), s.s2 = lane_load<F>(s2 + k);
    s.c1 = lane_load<F>(c1 + k), s.c2 = lane_load<F>(c2 + k);
    s.dir = dir ? wide_load<F>(dir + k) : wide_t<F>{};
    return s;
  }
  template <class F> VSGD_HD void store(size_t k, const SumsT<F>& s) const {
    lane_store(m + k, s.m), wide_store(s1 + k, s.s1), lane_store(s2 + k, s.s2);
    lane_store(c1 + k, s.c1), lane_store(c2 + k, s.c2);
    if (dir) wide_store(dir + k, s.dir);
  }
};

// ---- (b) What the whole step shares: the row count (after any reduction) and its inverse.
struct StepK {
  float n;        // rows of the step (the count of every mean in dense mode)
  double inv_n;   // 1/n, or 1 without rows
  float inv_nf;   // the same, rounded
  bool curv;      // curvature rows came
};
VSGD_HD StepK step_k(int n, bool curv) {
  StepK K;
  K.n = (float)n;
  K.inv_n = 1.0 / (n > 0 ? (double)n : 1.0);
  K.inv_nf = (float)K.inv_n;
  K.curv = curv;
  return K;
}

// ---- (c) Finishing a coordinate.

// State field at a compile-time slot (absent fields read as zero and are never stored).
// ld: the fields' stride in floats.
template <int SLOT, class F> VSGD_HD F field(const float* s, size_t ld, size_t i) {
  if constexpr (SLOT < 0) return F{};
  else return lane_load<F>(s + (size_t)SLOT * ld + i);
}
template <int SLOT, class F> VSGD_HD void put(float* s, size_t ld, size_t i, F v) {
  if constexpr (SLOT >= 0) lane_store(s + (size_t)SLOT * ld + i, v);
}

// Where a coordinate's θ and state are read and written, and where its next probe point goes:
// here memory (θ, the state buffer of fields ld floats apart, probe_out: null for nowhere), d
// coordinates; cuda.cu's Quad keeps four
// coordinates in registers behind the same members. NO is a slot the pass leaves alone, read
// as 0 and never written: eta where a read of the state derives it (stores_eta); -1 for none.
template <int NO = -1> struct PlaceT {
  static constexpr int no = NO;
  float* theta;
  float* state;
  size_t d, ld;
  float* probe_out;
  template <int SLOT, class F> VSGD_HD F get(size_t i) const { return field<(SLOT == NO ? -1 : SLOT), F>(state, ld, i); }
  template <int SLOT, class F> VSGD_HD void set(size_t i, F v) const { put<(SLOT == NO ? -1 : SLOT)>(state, ld, i, v); }
  template <class F> VSGD_HD F get_theta(size_t i) const { return lane_load<F>(theta + i); }
  template <class F> VSGD_HD void set_theta(size_t i, F v) const { lane_store(theta + i, v); }
  VSGD_HD bool wants_probe() const { return probe_out != nullptr; }
  template <class F> VSGD_HD void set_probe(size_t i, F v) const { lane_store(probe_out + i, v); }
  template <class F> VSGD_HD ulanes_t<F> index(size_t i) const { return Lanes<F>::index(i); }  // coordinates' indices
};
using Place = PlaceT<>;

// The active-row count, the mean gradient, and 1/m in double and in float.
template <int SP, class F> struct MeanT {
  F m, g1, inv_f;
  wide_t<F> inv_w;
};
template <int SP, class F> VSGD_HD MeanT<SP, F> grad_mean(const StepK& K, const SumsT<F>& s) {
  MeanT<SP, F> r;
  if (all_active(SP)) {
    r.m = bc<F>(K.n);
    r.inv_w = wide_t<F>{} + K.inv_n;
    r.inv_f = bc<F>(K.inv_nf);
  } else {  // 1/m per coordinate, 1 where no row is active (all its sums are 0 then)
    r.m = s.m;
    const F m1 = vmax(s.m, bc<F>(1));
    if (!any_lane(m1 != K.n)) {  // the step's 1/n, the same bits (always so with one row)
      r.inv_w = wide_t<F>{} + K.inv_n;
      r.inv_f = bc<F>(K.inv_nf);
    } else {
      r.inv_w = (wide_t<F>{} + 1.0) / widen(m1);
      r.inv_f = narrow<F>(r.inv_w);
    }
  }
  r.g1 = narrow<F>(s.s1 * r.inv_w);
  return r;
}

// The batch as apply() reads it. c: the coordinate's state, idx: its index (for δ).
template <int ALGO, int SP, bool BOOT, class F>
VSGD_HD BatchT<F> batch(const Params& P, const StepK& K, const SumsT<F>& s, const CoordT<F>& c, ulanes_t<F> idx) {
  const MeanT<SP, F> mn = grad_mean<SP>(K, s);
  BatchT<F> b;
  b.m = mn.m, b.g1 = mn.g1, b.g2 = s.s2 * mn.inv_f;
  // a non-finite active entry makes its sum non-finite (a sum of floats never overflows in
  // double; in float, Σc overflowing gives a result that is not stored either way)
  b.bad = vnot<mask_t<F>>(visfinite(b.g1));
  b.c1 = b.c2 = F{};
  if (uses_sparsity(ALGO) && K.curv) {
    b.bad = b.bad | vnot<mask_t<F>>(visfinite(s.c1));
    F k = mn.inv_f;
    if (ALGO == kVsgdFd) {
      const F id = curv_scale(P, probe_offset<BOOT>(P, ProbeIn<F>{c.g, c.v, c.tau, mn.m, mn.g1, b.g2, idx}));
      k = id * mn.inv_f;
      b.c2 = s.c2 * (k * id);
    }
    b.c1 = s.c1 * k;
  }
  b.dir = P.reweight ? narrow<F>(s.dir) : F{};
  return b;
}

// The next probe point θ + δ of the coordinate(s) at i from their state after a step (no rows).
template <bool BOOT, class F, class At>
VSGD_HD void next_probe(const Params& P, At& at, size_t i, F th, F g, F v, F tau) {
  if (at.wants_probe()) at.set_probe(i, th + probe_offset<BOOT>(P, ProbeIn<F>{g, v, tau, F{}, F{}, F{}, at.template index<F>(i)}));
}

// finish() once it is known whether some lane bootstraps (BOOT), c being the loaded state.
template <int ALGO, int SP, bool BOOT, class F, class At>
VSGD_HD Outcome<mask_t<F>> finish_as(const Params& P, const StepK& K, const SumsT<F>& s, At& at, size_t i, CoordT<F> c) {
  constexpr Layout L = layout(ALGO, SP);
  F th = at.template get_theta<F>(i);
  const ulanes_t<F> idx = at.template index<F>(i);
  const BatchT<F> b = batch<ALGO, SP, BOOT>(P, K, s, c, idx);
  const Outcome<mask_t<F>> o = apply<ALGO, SP, BOOT>(P, c, th, b, K.n, K.curv);
  at.template set<L.g>(i, c.g);
  at.template set<L.v>(i, c.v);
  at.template set<L.h>(i, c.h);
  at.template set<L.vh>(i, c.vh);
  at.template set<L.tau>(i, c.tau);
  at.template set<L.eta>(i, c.eta);
  at.template set<L.p>(i, c.p);
  at.set_theta(i, th);
  // a coordinate that bootstraps after this step was bootstrapping before it (BOOT)
  if (needs_offset(ALGO)) next_probe<BOOT>(P, at, i, th, c.g, c.v, c.tau);
  return o;
}

// Lanes without an active row (sparse modes): apply() would keep their θ and state as they are,
// so only the next probe point is written. Blank inputs (an image's border pixels) never get a row
// and bootstrap for good; without this they would run the bootstrap candidate every step.
template <int ALGO, int SP, class F, class At>
VSGD_HD Outcome<mask_t<F>> untouched(const Params& P, At& at, size_t i) {
  constexpr Layout L = layout(ALGO, SP);
  const F tau = at.template get<L.tau, F>(i);
  const mask_t<F> boot = tau <= 0.0f;
  if (needs_offset(ALGO) && at.wants_probe()) {
    const F v = P.variant == kSigned ? at.template get<L.v, F>(i) : F{};
    next_probe<true>(P, at, i, at.template get_theta<F>(i), at.template get<L.g, F>(i), v, tau);
  }
  const mask_t<F> no{};
  return Outcome<mask_t<F>>{no, no, no, boot};
}

// One step of the coordinate(s) at i from their sums: θ and state loaded, updated, stored, and
// the next probe point written (vSGD-fd, when asked for: exact once bootstrap is over).
template <int ALGO, int SP, class F, class At>
VSGD_HD Outcome<mask_t<F>> finish(const Params& P, const StepK& K, const SumsT<F>& s, At& at, size_t i) {
  constexpr Layout L = layout(ALGO, SP);
  if (uses_sparsity(ALGO) && !all_active(SP) && !any_lane(s.m > 0.0f)) return untouched<ALGO, SP, F>(P, at, i);
  const CoordT<F> c{at.template get<L.g, F>(i),   at.template get<L.v, F>(i),   at.template get<L.h, F>(i),
                    at.template get<L.vh, F>(i),  at.template get<L.tau, F>(i), at.template get<L.eta, F>(i),
                    at.template get<L.p, F>(i)};
  // once no lane bootstraps (the steady state), without the code for it
  if (uses_sparsity(ALGO) && any_lane(c.tau <= 0.0f)) return finish_as<ALGO, SP, true>(P, K, s, at, i, c);
  return finish_as<ALGO, SP, false>(P, K, s, at, i, c);
}

// θ + δ of the coordinate(s) at i, δ from the state and the gradient sums (probe()).
template <int ALGO, int SP, class F, class At>
VSGD_HD F probe_point(const Params& P, const StepK& K, const SumsT<F>& s, const At& at, size_t i) {
  constexpr Layout L = layout(ALGO, SP);
  const MeanT<SP, F> mn = grad_mean<SP>(K, s);
  // v only where the probe reads it ('signed'): the paper's probe pass streams g and tau alone
  const F v = P.variant == kSigned ? at.template get<L.v, F>(i) : F{};
  const ProbeIn<F> in{at.template get<L.g, F>(i), v, at.template get<L.tau, F>(i),
                      mn.m, mn.g1, s.s2 * mn.inv_f, at.template index<F>(i)};
  return at.template get_theta<F>(i) + probe_offset(P, in);
}

// ---- (d) Reading the state: eta where the pass does not store it (stores_eta), from the state
// and n, the row count of the last update: the rate its statistics give, 0 while bootstrapping.
// For a coordinate the last update changed, this is the eta that update computed, bit for bit.
template <int ALGO, int SP, class F> VSGD_HD void derive_eta(const Params& P, float n, float* state, size_t ld, size_t i) {
  constexpr Layout L = layout(ALGO, SP);
  if constexpr (L.eta >= 0) {
    const F g = field<L.g, F>(state, ld, i), tau = field<L.tau, F>(state, ld, i);
    const F eta = rate<ALGO>(P, g, field<L.v, F>(state, ld, i), field<L.h, F>(state, ld, i), field<L.vh, F>(state, ld, i), tau,
                             eff_rows<SP>(P, n, F{}, field<L.p, F>(state, ld, i)));
    // 0 while bootstrapping, and where the statistics give no finite rate (an edited checkpoint:
    // every step skips such a coordinate, so it does not move)
    put<L.eta>(state, ld, i, (tau > 0.0f) & visfinite(eta) ? eta : F{});
  }
}

// One coordinate's outcome as Flags bits.
VSGD_HD unsigned flags_of(const Outcome<bool>& o) {
  return (o.touched ? (unsigned)kTouched : 0u) | (o.skipped ? (unsigned)kSkipped : 0u) |
         (o.outlier ? (unsigned)kOutlier : 0u) | (o.boot ? (unsigned)kBootstrapping : 0u);
}

// The algorithm and sparsity of a step as template constants: K<ALGO, SP>::run(args...). The
// baselines take every row, so they run with dense sparsity whatever they were given.
template <template <int, int> class K, class... A> decltype(auto) dispatch(int algo, int sparsity, A&&... args) {
  switch (algo * 3 + (uses_sparsity(algo) ? sparsity : kDense)) {
    case kVsgdFd * 3 + kInstance: return K<kVsgdFd, kInstance>::run(static_cast<A&&>(args)...);
    case kVsgdFd * 3 + kGlobal: return K<kVsgdFd, kGlobal>::run(static_cast<A&&>(args)...);
    case kVsgd * 3 + kDense: return K<kVsgd, kDense>::run(static_cast<A&&>(args)...);
    case kVsgd * 3 + kInstance: return K<kVsgd, kInstance>::run(static_cast<A&&>(args)...);
    case kVsgd * 3 + kGlobal: return K<kVsgd, kGlobal>::run(static_cast<A&&>(args)...);
    case kSgd * 3: return K<kSgd, kDense>::run(static_cast<A&&>(args)...);
    case kAdaGrad * 3: return K<kAdaGrad, kDense>::run(static_cast<A&&>(args)...);
    case kNatural * 3: return K<kNatural, kDense>::run(static_cast<A&&>(args)...);
    case kAdam * 3: return K<kAdam, kDense>::run(static_cast<A&&>(args)...);
    default: return K<kVsgdFd, kDense>::run(static_cast<A&&>(args)...);
  }
}

}  // namespace vsgd
