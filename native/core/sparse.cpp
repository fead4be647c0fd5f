#include "sparse.h"

#include <algorithm>
#include <cstring>

#include "cpu_isa.h"
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

// The sums of every coordinate the rows name, entry by entry in row order (the order of the dense
// path, so both agree), and the coordinates in coords_; slot_ is left all -1 again.
template <int ALGO, int SP> struct SparseStepper::Gather {
  static size_t run(const Params& P, SparseStepper& me, size_t d, const Csr& r, bool curv) {
    if (me.slot_.size() != d) me.slot_.assign(d, -1);
    if (me.s1_.size() < r.nnz) me.grow(r.nnz);  // at most one coordinate per entry
    me.coords_.resize(r.nnz);
    me.entry_.resize(r.nnz);
    int32_t* slot = me.slot_.data();
    int32_t* coords = me.coords_.data();
    int32_t* entry = me.entry_.data();
    const SumsBuf buf = me.sums();
    const bool far = d * sizeof(int32_t) > kFar;
    size_t U = 0;
    for (size_t k = 0; k < r.nnz; ++k) {
      if (far && k + 64 < r.nnz) __builtin_prefetch(slot + r.indices[k + 64]);
      const int32_t i = r.indices[k];
      int32_t u = slot[i];
      SumsT<float> s = sums_zero<float>();
      if (u < 0) {  // named for the first time
        u = slot[i] = (int32_t)U;
        coords[U++] = i;
      } else {
        s = buf.load<float>((size_t)u);
      }
      entry[k] = u;
      add_grad<SP>(s, r.values[k]);
      if (curv) add_curv<ALGO, SP>(P, s, r.values[k], r.shifted[k]);
      buf.store((size_t)u, s);
    }
    for (size_t u = 0; u < U; ++u) slot[coords[u]] = -1;
    return U;
  }
};

// The curvature of rows whose gradients the last probe gathered (entry_ names each entry's
// coordinate), added in row order as Gather adds it.
template <int ALGO, int SP> struct SparseStepper::Curvature {
  static size_t run(const Params& P, SparseStepper& me, const Csr& r) {
    const SumsBuf buf = me.sums();
    for (size_t k = 0; k < r.nnz; ++k) {
      const size_t u = (size_t)me.entry_[k];
      SumsT<float> s = buf.load<float>(u);
      add_curv<ALGO, SP>(P, s, r.values[k], r.shifted[k]);
      buf.store(u, s);
    }
    return me.probed_U_;
  }
};

// Whether r holds the rows the last probe() gathered, bit for bit (then its sums stand).
bool SparseStepper::probed(const Csr& r) const {
  return probed_U_ > 0 && r.n == (int)probed_offsets_.size() - 1 && r.nnz == probed_indices_.size() &&
         std::memcmp(r.offsets, probed_offsets_.data(), probed_offsets_.size() * sizeof(int32_t)) == 0 &&
         std::memcmp(r.indices, probed_indices_.data(), r.nnz * sizeof(int32_t)) == 0 &&
         std::memcmp(r.values, probed_values_.data(), r.nnz * sizeof(float)) == 0;
}

void SparseStepper::grow(size_t U) {
  for (auto* v : {&m_, &s2_, &c1_, &c2_}) v->resize(U);
  s1_.resize(U);
}

SumsBuf SparseStepper::sums() { return SumsBuf{m_.data(), s1_.data(), s2_.data(), c1_.data(), c2_.data(), nullptr}; }

StepStats SparseStepper::step(const Params& P, float* theta, float* state, size_t d, const Csr& r, float* probe_out,
                              int threads) {
  const bool curv = r.shifted != nullptr && uses_sparsity(P.algo);
  // the rows the probe gathered (the usual probeSparse, updateSparse): only their curvature is new
  const size_t U = !probed(r)  ? dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, curv)
                   : curv      ? dispatch<Curvature>(P.algo, P.sparsity, P, *this, r)
                               : probed_U_;
  probed_U_ = 0;
  const NamedStepFn fn = cpu_kernels(P.algo, P.sparsity).named_step;
  if (!fn || U == 0) return StepStats{};
  const StepK K = step_k(r.n, curv);
  const Place at{theta, state, d, probe_out};
  const SumsBuf buf = sums();
  // large updates on the team, in slices of whole lane groups
  int t = 1;
#ifdef _OPENMP
  if (U > 65536) t = threads > 0 ? threads : omp_get_max_threads();
#else
  (void)threads;
#endif
  if (t == 1) return fn(P, K, buf, coords_.data(), U, at);
  const size_t slice = ((U + t - 1) / t + 15) / 16 * 16;  // whole groups of 8 or 16 lanes
  StepStats s;
#pragma omp parallel for schedule(static) num_threads(t) reduction(+ : s)
  for (int k = 0; k < t; ++k) {
    const size_t u0 = std::min(U, (size_t)k * slice), u1 = std::min(U, u0 + slice);
    const SumsBuf part{buf.m + u0, buf.s1 + u0, buf.s2 + u0, buf.c1 + u0, buf.c2 + u0, nullptr};
    s += fn(P, K, part, coords_.data() + u0, u1 - u0, at);
  }
  return s;
}

void SparseStepper::sums(const Params& P, size_t d, const Csr& r, const int32_t* at, size_t count, const WireBuf& out) {
  // every field gathered afresh: the phased step does not take over a probe's sums (probed())
  const size_t U = dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, r.shifted != nullptr && uses_sparsity(P.algo));
  probed_U_ = 0;
  const SumsBuf buf = sums();
  for (size_t u = 0; u < U; ++u) {
    const int32_t i = coords_[u];
    out.store(at ? (size_t)(std::lower_bound(at, at + count, i) - at) : (size_t)i, buf.load<float>(u));
  }
}

StepStats SparseStepper::finish(const Params& P, float* theta, float* state, size_t d, int rows, bool curv,
                                const int32_t* at, size_t count, const WireBuf& in, float* probe_out) {
  const WireNamedStepFn fn = cpu_kernels(P.algo, P.sparsity).wire_named_step;
  if (!fn || count == 0) return StepStats{};
  return fn(P, step_k(rows, curv && uses_sparsity(P.algo)), in, at, count, Place{theta, state, d, probe_out});
}

void SparseStepper::probe_sums(const Params& P, float* theta, float* state, size_t d, int rows, const int32_t* at,
                               size_t count, const WireBuf& in, float* out) {
  const WireNamedProbeFn fn = cpu_kernels(P.algo, P.sparsity).wire_named_probe;
  if (fn && count > 0) fn(P, step_k(rows, false), in, at, count, Place{theta, state, d, nullptr}, out);
}

void SparseStepper::probe(const Params& P, float* theta, float* state, size_t d, const Csr& r, float* out) {
  const size_t U = dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, false);
  const NamedProbeFn fn = cpu_kernels(P.algo, P.sparsity).named_probe;
  if (fn && U > 0) fn(P, step_k(r.n, false), sums(), coords_.data(), U, Place{theta, state, d, nullptr}, out);
  // kept for the update that follows with the same rows (probed())
  probed_offsets_.assign(r.offsets, r.offsets + r.n + 1);
  probed_indices_.assign(r.indices, r.indices + r.nnz);
  probed_values_.assign(r.values, r.values + r.nnz);
  probed_U_ = U;
}

}  // namespace vsgd
