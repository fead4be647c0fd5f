#include "accumulate.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {
namespace {
int team(int threads) {
#ifdef _OPENMP
  return threads > 0 ? threads : omp_get_max_threads();
#else
  (void)threads;
  return 1;
#endif
}
}  // namespace

void Accumulator::begin(size_t d) {
  for (auto* v : {&m_, &s2_, &c1_, &c2_}) v->assign(d, 0.0f);
  s1_.assign(d, 0.0);
  rows_ = curv_rows_ = 0;
  open_ = true;
}

// k rows into the sums: their gradients and, with extra, their curvature; or (grads_too false)
// the curvature alone of rows whose gradients came before
template <int ALGO, int SP> struct Accumulator::Add {
  static void run(const Params& P, const SumsBuf& buf, const float* grads, const float* extra, int k, size_t d,
                  bool grads_too, int threads) {
    const DenseRows r{grads, extra, nullptr, d};
#pragma omp parallel for schedule(static) num_threads(team(threads))
    for (int64_t i = 0; i < (int64_t)d; ++i) {
      SumsT<float> s = buf.load<float>((size_t)i);
      if (grads_too) {
        add_rows<ALGO, SP, float>(P, s, r, (size_t)i, 0, k);
      } else {
        for (int j = 0; j < k; ++j) add_curv<ALGO, SP>(P, s, grads[(size_t)j * d + i], extra[(size_t)j * d + i]);
      }
      buf.store((size_t)i, s);
    }
  }
};

void Accumulator::add(const Params& P, const float* grads, const float* extra, int k, size_t d, int threads) {
  dispatch<Add>(P.algo, P.sparsity, P, buf(), grads, extra, k, d, true, threads);
  rows_ += k;
  if (extra) curv_rows_ += k;
}

void Accumulator::add_curvature(const Params& P, const float* grads, const float* extra, int k, size_t d,
                                int threads) {
  if (uses_sparsity(P.algo)) dispatch<Add>(P.algo, P.sparsity, P, buf(), grads, extra, k, d, false, threads);
  curv_rows_ += k;
}

template <int ALGO, int SP> struct Accumulator::Probe {
  static void run(const SumsBuf& buf, const Params& P, const StepK& K, const Place& at, float* out, int threads) {
#pragma omp parallel for schedule(static) num_threads(team(threads))
    for (int64_t i = 0; i < (int64_t)at.d; ++i)
      out[i] = probe_point<ALGO, SP, float>(P, K, buf.load<float>((size_t)i), at, (size_t)i);
  }
};

void Accumulator::probe(const Params& P, float* theta, float* state, size_t d, size_t ld, float* out, int threads) {
  if (uses_sparsity(P.algo))
    dispatch<Probe>(P.algo, P.sparsity, buf(), P, step_k(rows_, false), Place{theta, state, d, ld, nullptr}, out, threads);
}

template <int ALGO, int SP> struct Accumulator::Finish {
  static StepStats run(const SumsBuf& buf, const Params& P, const StepK& K, const Place& at, int threads) {
    if (stores_eta(P)) return pass(buf, P, K, at, threads);
    return pass(buf, P, K, PlaceT<layout(ALGO, SP).eta>{at.theta, at.state, at.d, at.ld, at.probe_out}, threads);
  }
  template <class At> static StepStats pass(const SumsBuf& buf, const Params& P, const StepK& K, const At& at, int threads) {
    StepStats s;
#pragma omp parallel for schedule(static) num_threads(team(threads)) reduction(+ : s)
    for (int64_t i = 0; i < (int64_t)at.d; ++i)
      s.add(flags_of(vsgd::finish<ALGO, SP, float>(P, K, buf.load<float>((size_t)i), at, (size_t)i)));
    return s;
  }
};

StepStats Accumulator::finish(const Params& P, float* theta, float* state, size_t d, size_t ld, float* probe_out, int threads) {
  const StepK K = step_k(rows_, uses_sparsity(P.algo) && curv_rows_ > 0);
  const Place at{theta, state, d, ld, probe_out};
  const StepStats s = dispatch<Finish>(P.algo, P.sparsity, buf(), P, K, at, threads);
  open_ = false;
  return s;
}

}  // namespace vsgd
