#include "sparse.h"

#include <algorithm>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {

std::string check_csr(const Csr& r, size_t d) {
  if (r.offsets[0] != 0) return "offsets[0] must be 0 but is " + std::to_string(r.offsets[0]);
  for (int j = 0; j < r.n; ++j) {
    const int32_t a = r.offsets[j], b = r.offsets[j + 1];
    if (b < a) return "offsets must not decrease, but offsets[" + std::to_string(j + 1) + "] = " + std::to_string(b) +
                      " < offsets[" + std::to_string(j) + "] = " + std::to_string(a);
    if ((size_t)b > r.nnz) return "offsets[" + std::to_string(j + 1) + "] = " + std::to_string(b) + " runs past the " +
                                  std::to_string(r.nnz) + " entries of indices";
  }
  for (int j = 0; j < r.n; ++j) {
    const int32_t a = r.offsets[j], b = r.offsets[j + 1];
    for (int32_t k = a; k < b; ++k) {
      const int32_t i = r.indices[k];
      if (i < 0 || (size_t)i >= d)
        return "indices[" + std::to_string(k) + "] = " + std::to_string(i) + " is outside [0, " + std::to_string(d) + ")";
      if (k > a && i <= r.indices[k - 1])
        return "indices[" + std::to_string(k) + "] = " + std::to_string(i) + " is not greater than indices[" +
               std::to_string(k - 1) + "] = " + std::to_string(r.indices[k - 1]) + " in row " + std::to_string(j) +
               " (indices must be sorted and unique within each row)";
    }
  }
  if ((size_t)r.offsets[r.n] != r.nnz)
    return "offsets[n] = " + std::to_string(r.offsets[r.n]) + " but indices has " + std::to_string(r.nnz) + " entries";
  return "";
}

// Sums per named coordinate, in row order (the order of the dense path, so both agree).
size_t SparseStepper::gather(const Params& P, const float* state, size_t d, const Csr& r, bool curv) {
  if (slot_.size() != d) slot_.assign(d, -1);
  coords_.clear();
  acc_.clear();
  for (size_t k = 0; k < r.nnz; ++k) {
    const int32_t i = r.indices[k];
    if (slot_[i] < 0) {
      slot_[i] = (int32_t)coords_.size();
      coords_.push_back(i);
      acc_.push_back(acc_zero());
    }
    acc_grad(acc_[slot_[i]], P.sparsity, r.values[k]);
  }
  if (curv) {
    const Layout L = layout(P.algo, P.sparsity);
    std::vector<float> inv(coords_.size(), 0.0f);
    if (needs_offset(P.algo)) {
      for (size_t u = 0; u < coords_.size(); ++u)
        inv[u] = curv_scale(P, probe_offset(P, load(L, state, d, coords_[u]), acc_[u], (size_t)coords_[u]));
    }
    for (size_t k = 0; k < r.nnz; ++k) {
      const int32_t u = slot_[r.indices[k]];
      acc_curv(acc_[u], P, r.values[k], r.shifted[k], inv[u]);
    }
  }
  return coords_.size();
}

void SparseStepper::release() {
  for (int32_t i : coords_) slot_[i] = -1;
}

StepStats SparseStepper::step(const Params& P, float* theta, float* state, size_t d, const Csr& r, float* probe_out,
                              int threads) {
  const bool curv = r.shifted != nullptr;
  const int64_t U = (int64_t)gather(P, state, d, r, curv);
  const Layout L = layout(P.algo, P.sparsity);
  const float n = (float)r.n;
  StepStats s;  // bootstrapping counts the coordinates that finished it here
#ifdef _OPENMP
  const int t = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(t) if (U > 65536) reduction(+ : s)
#endif
  for (int64_t u = 0; u < U; ++u) {
    const size_t i = (size_t)coords_[u];
    Coord c = load(L, state, d, i);
    const bool was = c.tau <= 0.0f;
    float th = theta[i];
    const unsigned f = apply(P, c, th, acc_[u], n, curv);
    store(L, state, d, i, c);
    theta[i] = th;
    if (probe_out) probe_out[i] = th + next_offset<float>(P, c, i);
    s.add(f & ~(unsigned)kBootstrapping);
    s.bootstrapping += was && !(f & kBootstrapping);
  }
  release();
  return s;
}

void SparseStepper::probe(const Params& P, const float* theta, const float* state, size_t d, const Csr& r, float* out) {
  gather(P, state, d, r, false);
  const Layout L = layout(P.algo, P.sparsity);
  for (size_t u = 0; u < coords_.size(); ++u) {
    const size_t i = (size_t)coords_[u];
    out[i] = theta[i] + probe_offset(P, load(L, state, d, i), acc_[u], i);
  }
  release();
}

}  // namespace vsgd
