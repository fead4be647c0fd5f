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
Acc acc_at(const std::vector<acc_t>& m, const std::vector<acc_t>& s1, const std::vector<acc_t>& s2,
           const std::vector<acc_t>& c1, const std::vector<acc_t>& c2, const std::vector<int>& bad, size_t i) {
  return Acc{m[i], s1[i], s2[i], c1[i], c2[i], bad[i]};
}
}  // namespace

void Accumulator::begin(size_t d) {
  for (auto* v : {&m_, &s1_, &s2_, &c1_, &c2_}) v->assign(d, 0.0);
  bad_.assign(d, 0);
  rows_ = curv_rows_ = 0;
  open_ = true;
}

void Accumulator::add(const Params& P, const float* grads, int k, size_t d, int threads) {
#pragma omp parallel for schedule(static) num_threads(team(threads))
  for (int64_t i = 0; i < (int64_t)d; ++i) {
    for (int j = 0; j < k; ++j) acc_grad(P.sparsity, grads[(size_t)j * d + i], m_[i], s1_[i], s2_[i], bad_[i]);
  }
  rows_ += k;
}

void Accumulator::add_curvature(const Params& P, const float* state, const float* grads, const float* extra, int k,
                                size_t d, int threads) {
  const Layout L = layout(P.algo, P.sparsity);
#pragma omp parallel for schedule(static) num_threads(team(threads))
  for (int64_t i = 0; i < (int64_t)d; ++i) {
    const Acc a = acc_at(m_, s1_, s2_, c1_, c2_, bad_, i);
    const float inv = needs_offset(P.algo) ? curv_scale(P, probe_offset(P, load(L, state, d, i), a, (size_t)i)) : 0.0f;
    for (int j = 0; j < k; ++j) {
      const size_t q = (size_t)j * d + i;
      acc_curv(P.algo, P.sparsity, P.variant == kSigned, grads[q], extra[q], inv, c1_[i], c2_[i], bad_[i]);
    }
  }
  curv_rows_ += k;
}

void Accumulator::probe(const Params& P, const float* theta, const float* state, size_t d, float* out,
                        int threads) const {
  const Layout L = layout(P.algo, P.sparsity);
#pragma omp parallel for schedule(static) num_threads(team(threads))
  for (int64_t i = 0; i < (int64_t)d; ++i)
    out[i] = theta[i] + probe_offset(P, load(L, state, d, i), acc_at(m_, s1_, s2_, c1_, c2_, bad_, i), (size_t)i);
}

StepStats Accumulator::finish(const Params& P, float* theta, float* state, size_t d, float* probe_out, int threads) {
  const Layout L = layout(P.algo, P.sparsity);
  const bool curv = uses_sparsity(P.algo) && curv_rows_ > 0;
  const float n = (float)rows_;
  StepStats s;
#pragma omp parallel for schedule(static) num_threads(team(threads)) reduction(+ : s)
  for (int64_t i = 0; i < (int64_t)d; ++i) {
    Coord c = load(L, state, d, i);
    float th = theta[i];
    const unsigned f = apply(P, c, th, acc_at(m_, s1_, s2_, c1_, c2_, bad_, i), n, curv);
    store(L, state, d, i, c);
    theta[i] = th;
    if (probe_out && needs_offset(P.algo)) probe_out[i] = th + next_offset<float>(P, c, (size_t)i);
    s.add(f);
  }
  open_ = false;
  return s;
}

}  // namespace vsgd
