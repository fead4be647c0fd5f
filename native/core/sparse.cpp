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
template <int ALGO, int SP> void SparseStepper::gather(size_t d, const Csr& r, bool curv) {
  if (slot_.size() != d) slot_.assign(d, -1);
  coords_.clear();
  sums_.clear();
  for (size_t k = 0; k < r.nnz; ++k) {
    const int32_t i = r.indices[k];
    if (slot_[i] < 0) {
      slot_[i] = (int32_t)coords_.size();
      coords_.push_back(i);
      sums_.push_back(sums_zero<float>());
    }
    SumsT<float>& s = sums_[slot_[i]];
    add_grad<SP>(s, r.values[k]);
    if (curv) add_curv<ALGO, SP>(s, r.values[k], r.shifted[k]);
  }
}

void SparseStepper::release() {
  for (int32_t i : coords_) slot_[i] = -1;
}

template <int ALGO, int SP> struct SparseStepper::Step {
  static StepStats run(SparseStepper& me, const Params& P, float* theta, float* state, size_t d, const Csr& r,
                       float* probe_out, int threads) {
    const bool curv = r.shifted != nullptr && uses_sparsity(ALGO);
    me.gather<ALGO, SP>(d, r, curv);
    const int64_t U = (int64_t)me.coords_.size();
    const float* tau = state + (size_t)layout(ALGO, SP).tau * d;
    const StepK K = step_k(r.n, curv);
    const Place at{theta, state, d, probe_out};
    StepStats s;  // bootstrapping counts the coordinates that finished it here
#ifdef _OPENMP
    const int t = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(t) if (U > 65536) reduction(+ : s)
#else
    (void)threads;
#endif
    for (int64_t u = 0; u < U; ++u) {
      const size_t i = (size_t)me.coords_[u];
      const bool was = uses_sparsity(ALGO) && tau[i] <= 0.0f;
      const unsigned f = flags_of(finish<ALGO, SP, float>(P, K, me.sums_[u], at, i));
      s.add(f & ~(unsigned)kBootstrapping);
      s.bootstrapping += was && !(f & kBootstrapping);
    }
    me.release();
    return s;
  }
};

template <int ALGO, int SP> struct SparseStepper::Probe {
  static void run(SparseStepper& me, const Params& P, const float* theta, const float* state, size_t d, const Csr& r,
                  float* out) {
    me.gather<ALGO, SP>(d, r, false);
    const StepK K = step_k(r.n, false);
    for (size_t u = 0; u < me.coords_.size(); ++u) {
      const size_t i = (size_t)me.coords_[u];
      out[i] = probe_point<ALGO, SP, float>(P, K, me.sums_[u], theta, state, d, i);
    }
    me.release();
  }
};

StepStats SparseStepper::step(const Params& P, float* theta, float* state, size_t d, const Csr& r, float* probe_out,
                              int threads) {
  return dispatch<Step>(P.algo, P.sparsity, *this, P, theta, state, d, r, probe_out, threads);
}

void SparseStepper::probe(const Params& P, const float* theta, const float* state, size_t d, const Csr& r, float* out) {
  dispatch<Probe>(P.algo, P.sparsity, *this, P, theta, state, d, r, out);
}

}  // namespace vsgd
