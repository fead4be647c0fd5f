// The CPU's dense traversal of a range of coordinates, included once per instruction set
// (cpu_generic.cpp, cpu_avx2.cpp, cpu_avx512.cpp) under a namespace named by VSGD_ISA. It only
// walks memory: the sequence of a coordinate is traverse.h's, run on a lane group at a time (8
// lanes, or 16 where VSGD_LANES says so: cpu_simd.h) and on the range's tail one coordinate at a
// time. The algorithm and sparsity are template constants, so the state layout and the uniform
// choices fold away.
//
// Few rows (n <= Tuning::fused_rows): one pass, the rows' sums of a lane group in registers
// from their loads to the update. Many rows: a block of kBlock coordinates at a time, its rows
// in chunks of Tuning::chunk_rows, whose sums go through a small buffer (SumsBuf, in L1) between
// chunks; the last chunk goes straight on to the update. Either way each row is read once and
// the sums add up in row order, so both give the same bits (docs/performance.md).
#include <algorithm>

#include "cpu_isa.h"
#include "cpu_simd.h"
#include "traverse.h"

namespace vsgd {
namespace VSGD_ISA {

// This build's lane group: vf (floats), vm (their masks)
#if defined(VSGD_LANES) && VSGD_LANES == 16
using vf = vf16;
using vm = vm16;
#else
using vf = vf8;
using vm = vm8;
#endif
constexpr size_t kLanes = sizeof(vf) / sizeof(float);

// The lanes' outcome counts (true lanes are -1), reduced once per range.
struct Tally {
  vm touched{}, skipped{}, outliers{}, boot{};
  StepStats tail;
  void add(const Outcome<vm>& o) { touched -= o.touched, skipped -= o.skipped, outliers -= o.outlier, boot -= o.boot; }
  void add(const Outcome<bool>& o) { tail.add(flags_of(o)); }
  StepStats total() const {
    StepStats s = tail;
    s.touched += sum(touched), s.skipped += sum(skipped), s.outliers += sum(outliers), s.bootstrapping += sum(boot);
    return s;
  }
};

// Floats from p to the next 64-byte boundary (a cache line's).
inline size_t to_line(const float* p) { return (64 - (uintptr_t)p % 64) % 64 / sizeof(float); }

// A block's sums between row chunks: ~32 B per coordinate, so the block stays in L1.
struct BlockSums {
  alignas(64) double s1[kBlock], dir[kBlock];
  alignas(64) float m[kBlock], s2[kBlock], c1[kBlock], c2[kBlock];
  SumsBuf buf() { return SumsBuf{m, s1, s2, c1, c2, dir}; }
};

// A data-parallel step runs Dense with its end cut off (phase (a): the sums go to a WireBuf
// instead of into finish()); Phases, NamedStep and NamedProbe finish from the reduced buffer.
template <int ALGO, int SP>
struct Dense {
  // Coordinates [i0, i1) from start (j = 0) to finish; `fused` rows or fewer in one pass. eta is
  // left alone where a read of the state derives it.
  static StepStats run(const Params& P, const StepK& K, const StepArgs& a, size_t i0, size_t i1, const Tuning& T) {
    if constexpr (ALGO == kVsgdFd) {
      if (P.variant == kSigned) return run_as<kSigned>(P, K, a, i0, i1, T);
    }
    return run_as<kPaper>(P, K, a, i0, i1, T);
  }
  // vSGD-fd's variant a constant of the pass, so that its choices fold away as the algorithm's do
  // (the other algorithms ignore it)
  template <int VAR>
  static StepStats run_as(const Params& P, const StepK& K, const StepArgs& a, size_t i0, size_t i1, const Tuning& T) {
    if (stores_eta(P) || T.eta_in_pass) return pass<VAR>(P, K, a, i0, i1, T, Place{a.theta, a.state, a.d, stride(a), a.probe_out});
    return pass<VAR>(P, K, a, i0, i1, T, PlaceT<layout(ALGO, SP).eta>{a.theta, a.state, a.d, stride(a), a.probe_out});
  }
  // Phase (a) alone: the same pass, with the sums stored in `out` where the update would begin.
  static void sums(const Params& P, const StepK& K, const StepArgs& a, size_t i0, size_t i1, const Tuning& T,
                   const WireBuf& out) {
    pass<-1>(P, K, a, i0, i1, T, Place{a.theta, a.state, a.d, stride(a), nullptr}, &out);
  }

  // VAR >= 0: the variant, as a constant
  template <int VAR, class At>
  static StepStats pass(const Params& P0, const StepK& K0, const StepArgs& a, size_t i0, size_t i1, const Tuning& T,
                        const At& at0, const WireBuf* out = nullptr) {
    // copies in the pass's own frame: the stores through float pointers below could alias
    // memory behind a reference, which would make the compiler reload every option and pointer
    // after every store
    Params P = P0;
    if (VAR >= 0) P.variant = VAR;
    const StepK K = K0;
    const At at = at0;
    const DenseRows r{a.grads, K.curv ? a.extra : nullptr, P.reweight ? a.weights : nullptr, a.d};
    const int n = a.n;
    Tally t;
    // one coordinate at a time up to θ's next 64-byte line: from there on, every array that lies
    // as θ does within a line (the optimizer allocates its own so) is read a whole line per load
    // instead of two halves of two lines (docs/performance.md)
    for (const size_t lead = std::min(i1, i0 + to_line(at.theta + i0)); i0 < lead; ++i0)
      t.add(one<float>(P, K, r, at, i0, 0, n, nullptr, 0, out));
    // the lines Tuning::ahead coordinates on, while those lie within the range
    const size_t D = (size_t)T.ahead;
    const auto request = [&](size_t i, size_t span, int j0, int j1, bool state) {
      if (D && i + D + span <= i1) ahead(r, at, i + D, span, j0, j1, state);
    };
    if (n == 1 && T.fused_rows >= 1 && T.pair_rows > 1) {  // the same pass, with a row loop the compiler sees through
      size_t i = i0;
      for (; i + kLanes <= i1; i += kLanes) {
        request(i, kLanes, 0, 1, !out);
        t.add(group<vf>(P, K, r, at, i, 0, 1, nullptr, 0, out));
      }
      for (; i < i1; ++i) t.add(one<float>(P, K, r, at, i, 0, 1, nullptr, 0, out));
      return t.total();
    }
    if (n <= T.fused_rows) {
      // two lane groups at a time: measured faster from n = 2 on, slower with one row
      // (docs/performance.md)
      size_t i = i0;
      if (n >= T.pair_rows)
        for (; i + 2 * kLanes <= i1; i += 2 * kLanes) {
          request(i, 2 * kLanes, 0, n, !out);
          two(P, K, r, at, i, n, out, t);
        }
      for (; i + kLanes <= i1; i += kLanes) {
        request(i, kLanes, 0, n, !out);
        t.add(one<vf>(P, K, r, at, i, 0, n, nullptr, 0, out));
      }
      for (; i < i1; ++i) t.add(one<float>(P, K, r, at, i, 0, n, nullptr, 0, out));
      return t.total();
    }
    static thread_local BlockSums B;  // off the stack, once per thread
    const SumsBuf buf = B.buf();
    const int R = std::max(1, T.chunk_rows), last = ((n - 1) / R) * R;  // the last chunk: [last, n)
    for (size_t b0 = i0; b0 < i1; b0 += kBlock) {
      const size_t b1 = std::min(i1, b0 + kBlock);
      for (int j0 = 0; j0 < last; j0 += R) {
        size_t i = b0;
        for (; i + kLanes <= b1; i += kLanes) {
          request(i, kLanes, j0, j0 + R, false);
          chunk<vf>(P, r, buf, i, i - b0, j0, j0 + R);
        }
        for (; i < b1; ++i) chunk<float>(P, r, buf, i, i - b0, j0, j0 + R);
      }
      size_t i = b0;
      for (; i + kLanes <= b1; i += kLanes) {
        request(i, kLanes, last, n, !out);
        t.add(one<vf>(P, K, r, at, i, last, n, &buf, i - b0, out));
      }
      for (; i < b1; ++i) t.add(one<float>(P, K, r, at, i, last, n, &buf, i - b0, out));
    }
    return t.total();
  }

  // The lines of coordinates [i, i + span) of rows [j0, j1), and with `state` (an update, not
  // the sums of a data-parallel step) of θ, the state and the probe point, asked for (into L2)
  // before the pass reaches them: with more streams open than the hardware's prefetchers follow,
  // the pass would otherwise wait on their misses between its arithmetic (docs/performance.md).
  template <class At>
  static void ahead(const DenseRows& r, const At& at, size_t i, size_t span, int j0, int j1, bool state) {
    constexpr Layout L = layout(ALGO, SP);
    for (size_t k = i; k < i + span; k += 64 / sizeof(float)) {
      for (int j = j0; j < j1; ++j) {
        prefetch<0, 2>(r.grads + (size_t)j * r.d + k);
        if (r.extra) prefetch<0, 2>(r.extra + (size_t)j * r.d + k);
      }
      if (!state) continue;
      prefetch<1, 2>(at.theta + k);
      for (int slot = 0; slot < L.count; ++slot)
        if (slot != At::no) prefetch<1, 2>(at.state + (size_t)slot * at.ld + k);
      if (at.probe_out) prefetch<1, 2>(at.probe_out + k);
    }
  }
  // rows [j0, j1) of the coordinates at i added to their buffered sums (fresh when j0 = 0)
  template <class F>
  static void chunk(const Params& P, const DenseRows& r, const SumsBuf& buf, size_t i, size_t k, int j0, int j1) {
    SumsT<F> s = j0 == 0 ? sums_zero<F>() : buf.load<F>(k);
    add_rows<ALGO, SP, F>(P, s, r, i, j0, j1);
    buf.store(k, s);
  }

  // all n rows of two lane groups at i, a whole cache line of each row at a time, then the
  // update of each half (or, with `out`, the sums stored there)
  template <class At>
  static void two(const Params& P, const StepK& K, const DenseRows& r, const At& at, size_t i, int n,
                  const WireBuf* out, Tally& t) {
    SumsT<vf> s[2] = {sums_zero<vf>(), sums_zero<vf>()};
    add_rows<ALGO, SP, 2>(P, s, r, i, 0, n);
    for (int k = 0; k < 2; ++k) {  // a loop, not two copies of the update's code
      if (out) out->store(i + k * kLanes, s[k]);
      else t.add(finish<ALGO, SP, vf>(P, K, s[k], at, i + k * kLanes));
    }
  }

  // rows [j0, n) of the coordinates at i, on top of their buffered sums when j0 > 0, then the
  // update (or, with `out`, the sums stored there)
  template <class F, class At>
  static Outcome<mask_t<F>> one(const Params& P, const StepK& K, const DenseRows& r, const At& at, size_t i, int j0,
                                int n, const SumsBuf* buf, size_t k, const WireBuf* out) {
    return group<F>(P, K, r, at, i, j0, n, buf, k, out);
  }
  // one()'s body, inlined where it is called: the one-row loop calls it directly, so that the
  // options and constants stay in registers across lane groups
  template <class F, class At>
  VSGD_HD static Outcome<mask_t<F>> group(const Params& P, const StepK& K, const DenseRows& r, const At& at, size_t i,
                                          int j0, int n, const SumsBuf* buf, size_t k, const WireBuf* out) {
    SumsT<F> s = j0 > 0 ? buf->load<F>(k) : sums_zero<F>();
    add_rows<ALGO, SP, F>(P, s, r, i, j0, n);
    if (out) return out->store(i, s), Outcome<mask_t<F>>{};
    return finish<ALGO, SP, F>(P, K, s, at, i);
  }
};

// Phase (c) of a data-parallel step over [i0, i1): the update, or the probe point, from the sums
// the processes reduced (wire.h).
template <int ALGO, int SP>
struct Phases {
  static StepStats finish(const Params& P, const StepK& K, const StepArgs& a, size_t i0, size_t i1, const WireBuf& in) {
    if (stores_eta(P)) return each(P, K, in, i0, i1, Place{a.theta, a.state, a.d, stride(a), a.probe_out});
    return each(P, K, in, i0, i1, PlaceT<layout(ALGO, SP).eta>{a.theta, a.state, a.d, stride(a), a.probe_out});
  }
  template <class At>
  static StepStats each(const Params& P0, const StepK& K0, const WireBuf& in, size_t i0, size_t i1, const At& at0) {
    const Params P = P0;  // copies in the loop's frame, as in Dense::pass
    const StepK K = K0;
    const At at = at0;
    Tally t;
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) t.add(vsgd::finish<ALGO, SP, vf>(P, K, in.load<vf>(i), at, i));
    for (; i < i1; ++i) t.add(vsgd::finish<ALGO, SP, float>(P, K, in.load<float>(i), at, i));
    return t.total();
  }
  static void probe(const Params& P, const StepK& K, const StepArgs& a, size_t i0, size_t i1, const WireBuf& in,
                    float* out) {
    const Place at{a.theta, a.state, a.d, stride(a), nullptr};
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) lane_store(out + i, probe_point<ALGO, SP, vf>(P, K, in.load<vf>(i), at, i));
    for (; i < i1; ++i) out[i] = probe_point<ALGO, SP, float>(P, K, in.load<float>(i), at, i);
  }
};

// θ + δ over [i0, i1) from the gradient rows (probe()).
template <int ALGO, int SP>
struct Probe {
  static void run(const Params& P0, const StepK& K0, const StepArgs& a, size_t i0, size_t i1, float* out) {
    const Params P = P0;  // copied, as in Dense::pass
    const StepK K = K0;
    const DenseRows r{a.grads, nullptr, nullptr, a.d};
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) lane_store(out + i, at<vf>(P, K, r, a, i));
    for (; i < i1; ++i) out[i] = at<float>(P, K, r, a, i);
  }
  template <class F> static F at(const Params& P, const StepK& K, const DenseRows& r, const StepArgs& a, size_t i) {
    SumsT<F> s = sums_zero<F>();
    if (r.grads) add_rows<ALGO, SP, F>(P, s, r, i, 0, a.n);
    return probe_point<ALGO, SP, F>(P, K, s, Place{a.theta, a.state, a.d, stride(a), nullptr}, i);
  }
};

// Probe where tau <= 0 only, the rest of `out` being left as the last step wrote it: a scan of
// tau, lane group by lane group, and the rows read where some lane bootstraps. Its other lanes
// get the same bits again. Under sparse rates a group without an active row is left as well: the
// last step wrote its point from the same state with no rows (an image's blank pixels bootstrap
// for good, and are then a large share of the coordinates).
template <int ALGO, int SP>
struct Patch {
  static void run(const Params& P0, const StepK& K0, const StepArgs& a, size_t i0, size_t i1, float* out) {
    const Params P = P0;  // copied, as in Dense::pass
    const StepK K = K0;
    constexpr Layout L = layout(ALGO, SP);
    const float* tau = a.state + (size_t)L.tau * stride(a);
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes)
      if (any_lane(lane_load<vf>(tau + i) <= 0.0f)) group<vf>(P, K, a, i, out);
    for (; i < i1; ++i)
      if (tau[i] <= 0.0f) group<float>(P, K, a, i, out);
  }
  template <class F> static void group(const Params& P, const StepK& K, const StepArgs& a, size_t i, float* out) {
    const DenseRows r{a.grads, nullptr, nullptr, a.d};
    SumsT<F> s = sums_zero<F>();
    if (r.grads) add_rows<ALGO, SP, F>(P, s, r, i, 0, a.n);
    if (!all_active(SP) && !any_lane(s.m > 0.0f)) return;
    lane_store(out + i, probe_point<ALGO, SP, F>(P, K, s, Place{a.theta, a.state, a.d, stride(a), nullptr}, i));
  }
};

// Coordinates named by a list (sparse rows): the Place of traverse.h's sequence where lane u is
// coordinate coords[u], gathered and scattered; NO as in PlaceT.
template <int NO = -1> struct Named {
  Place at;
  const int32_t* coords;
  template <int SLOT, class F> F get(size_t u) const {
    if constexpr (SLOT < 0 || SLOT == NO) return F{};
    else return gather<F>(at.state + (size_t)SLOT * at.ld, coords + u);
  }
  template <int SLOT, class F> void set(size_t u, F v) const {
    if constexpr (SLOT >= 0 && SLOT != NO) scatter(at.state + (size_t)SLOT * at.ld, coords + u, v);
  }
  template <class F> F get_theta(size_t u) const { return gather<F>(at.theta, coords + u); }
  template <class F> void set_theta(size_t u, F v) const { scatter(at.theta, coords + u, v); }
  bool wants_probe() const { return at.probe_out != nullptr; }
  template <class F> void set_probe(size_t u, F v) const { scatter(at.probe_out, coords + u, v); }
  template <class F> ulanes_t<F> index(size_t u) const { return index_lanes<F>(coords + u); }
  // Beyond the caches (far), the lines of coordinates `ahead` places on are asked for early, so
  // that their misses overlap with this group's arithmetic.
  template <int ALGO, int SP> void prefetch(size_t u, size_t U, bool probe_too) const {
    constexpr Layout L = layout(ALGO, SP);
    for (size_t e = u; e < std::min(U, u + kLanes); ++e) {
      const size_t i = (size_t)coords[e];
      for (int slot = 0; slot < L.count; ++slot) vsgd::prefetch<1>(at.state + (size_t)slot * at.ld + i);
      vsgd::prefetch<1>(at.theta + i);
      if (probe_too) vsgd::prefetch<1>(at.probe_out + i);
    }
  }
};
constexpr size_t kAhead = 64;  // how far on the prefetches reach, in coordinates

// The update of U coordinates named by coords, from their sums (sparse rows). The counts'
// `bootstrapping` is the coordinates that finished bootstrapping in this update.
template <int ALGO, int SP>
struct NamedStep {
  // B: a SumsBuf, or a WireBuf of sums reduced over the processes (indexed like coords)
  template <class B>
  static StepStats run(const Params& P, const StepK& K, const B& sums, const int32_t* coords, size_t U,
                       const Place& at) {
    if (stores_eta(P)) return pass(P, K, sums, U, Named<>{at, coords});
    return pass(P, K, sums, U, Named<layout(ALGO, SP).eta>{at, coords});
  }
  template <class Nm, class B>
  static StepStats pass(const Params& P0, const StepK& K0, const B& sums0, size_t U, const Nm& nm0) {
    const Params P = P0;  // copies in the loop's frame, as in Dense::pass
    const StepK K = K0;
    const B sums = sums0;
    const Nm nm = nm0;
    const Place& at = nm.at;
    const bool far = at.d * sizeof(float) > kFar;
    Tally t;
    size_t u = 0;
    for (; u + kLanes <= U; u += kLanes) {
      if (far) nm.template prefetch<ALGO, SP>(u + kAhead, U, at.probe_out != nullptr);
      t.add(one<vf>(P, K, sums, nm, u));
    }
    for (; u < U; ++u) t.add(one<float>(P, K, sums, nm, u));
    return t.total();
  }
  template <class F, class Nm, class B>
  static Outcome<mask_t<F>> one(const Params& P, const StepK& K, const B& sums, const Nm& nm, size_t u) {
    constexpr Layout L = layout(ALGO, SP);
    const mask_t<F> was = nm.template get<L.tau, F>(u) <= 0.0f;
    Outcome<mask_t<F>> o = finish<ALGO, SP, F>(P, K, sums.template load<F>(u), nm, u);
    o.boot = was & vnot<mask_t<F>>(o.boot);
    return o;
  }
};

// θ + δ of U coordinates named by coords, into out at those coordinates (sparse rows).
template <int ALGO, int SP>
struct NamedProbe {
  template <class B>
  static void run(const Params& P0, const StepK& K0, const B& sums, const int32_t* coords, size_t U,
                  const Place& at, float* out) {
    const Params P = P0;
    const StepK K = K0;
    const Named<> nm{at, coords};
    const bool far = at.d * sizeof(float) > kFar;
    size_t u = 0;
    for (; u + kLanes <= U; u += kLanes) {
      if (far) Named<>{Place{at.theta, at.state, at.d, at.ld, out}, coords}.prefetch<ALGO, SP>(u + kAhead, U, true);
      scatter(out, coords + u, probe_point<ALGO, SP, vf>(P, K, sums.template load<vf>(u), nm, u));
    }
    for (; u < U; ++u) out[coords[u]] = probe_point<ALGO, SP, float>(P, K, sums.template load<float>(u), nm, u);
  }
};

// derive_eta() over [i0, i1) (Backend-independent: the state is the host's).
template <int ALGO, int SP>
struct Eta {
  static void run(const Params& P0, float n, float* state, size_t ld, size_t i0, size_t i1) {
    const Params P = P0;
    size_t i = i0;
    for (; i + kLanes <= i1; i += kLanes) derive_eta<ALGO, SP, vf>(P, n, state, ld, i);
    for (; i < i1; ++i) derive_eta<ALGO, SP, float>(P, n, state, ld, i);
  }
};

template <int ALGO, int SP>
struct Pick {
  static Kernels run() {
    Kernels k{Dense<ALGO, SP>::run, nullptr, nullptr, nullptr, nullptr, nullptr,
              Dense<ALGO, SP>::sums, Phases<ALGO, SP>::finish, nullptr, nullptr, nullptr};
    if (uses_sparsity(ALGO)) {
      k.probe = Probe<ALGO, SP>::run, k.patch = Patch<ALGO, SP>::run;
      k.named_step = NamedStep<ALGO, SP>::template run<SumsBuf>;
      k.named_probe = NamedProbe<ALGO, SP>::template run<SumsBuf>;
      k.eta = Eta<ALGO, SP>::run;
      k.wire_probe = Phases<ALGO, SP>::probe;
      k.wire_named_step = NamedStep<ALGO, SP>::template run<WireBuf>;
      k.wire_named_probe = NamedProbe<ALGO, SP>::template run<WireBuf>;
    }
    return k;
  }
};

Kernels kernels(int algo, int sparsity) { return dispatch<Pick>(algo, sparsity); }

}  // namespace VSGD_ISA
}  // namespace vsgd
