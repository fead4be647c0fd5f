#include "sparse.h"

#include <algorithm>
#include <cstring>

#include "cpu_isa.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {

constexpr size_t kAheadEntries = 64;  // how far on the probe asks for tau beyond the caches, in entries
// Up to this many coordinates, find()'s table has a slot for each: every index is its own slot,
// no search (at most 64 KiB of table, in cache beside the arrays themselves). Beyond, the table
// is only twice the entries' size: a step that meets its lines cold (a large model) fetches fewer
// of them (docs/performance.md, "Sparse rows").
constexpr size_t kDirect = size_t(1) << 14;

// Whether every row's indices lie in [0, d) and increase: one branch-free pass that the compiler
// vectorizes, so that well-formed rows (every call's) cost little; check_csr() names the fault.
static bool indices_ok(const Csr& r, size_t d) {
  // as unsigned, a negative index is at least 2^31, and so never below D
  const uint32_t D = (uint32_t)std::min(d, (size_t)1 << 31);
  bool bad = false;
  for (int j = 0; j < r.n; ++j) {
    const int32_t* x = r.indices + r.offsets[j];
    const int32_t len = r.offsets[j + 1] - r.offsets[j];
    if (len <= 0) continue;
    unsigned out = (uint32_t)x[0] >= D;
    for (int32_t k = 1; k < len; ++k) out |= ((uint32_t)x[k] >= D) | (x[k] <= x[k - 1]);
    bad |= out != 0;
  }
  return !bad;
}

std::string check_csr(const Csr& r, size_t d) {
  if (r.offsets[0] != 0) return "offsets[0] must be 0 but is " + std::to_string(r.offsets[0]);
  for (int j = 0; j < r.n; ++j) {
    const int32_t a = r.offsets[j], b = r.offsets[j + 1];
    if (b < a) return "offsets must not decrease, but offsets[" + std::to_string(j + 1) + "] = " + std::to_string(b) +
                      " < offsets[" + std::to_string(j) + "] = " + std::to_string(a);
    if ((size_t)b > r.nnz) return "offsets[" + std::to_string(j + 1) + "] = " + std::to_string(b) + " runs past the " +
                                  std::to_string(r.nnz) + " entries of indices";
  }
  const bool ok = indices_ok(r, d);
  for (int j = 0; j < r.n && !ok; ++j) {  // the fault's place, when there is one
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

// The place of coordinate i in coords_, or where it goes: open addressing in a table of at least
// twice the coordinates, so that it stays in cache whatever d is. The slot is i plus a multiple of
// its high bits (by an odd constant, so that strided indices spread): a row's sorted indices land
// side by side, and below the table's size i is its own slot (for d up to kDirect, every i).
inline int32_t* SparseStepper::find(int32_t i) {  // inline: once per entry
  const uint32_t mask = (uint32_t)table_.size() - 1;
  const int bits = __builtin_ctzll(table_.size());
  uint32_t h = ((uint32_t)i + ((uint32_t)i >> bits) * 0x9E3779B1u) & mask;
  while (table_[h] >= 0 && coords_[(size_t)table_[h]] != i) h = (h + 1) & mask;
  return &table_[h];
}

// The sums of every coordinate the rows name, entry by entry in row order (the order of the dense
// path, so both agree), and the coordinates in coords_. With `tau` (the probe), only entries of
// coordinates that still bootstrap (tau <= 0): past bootstrap a probe point needs no rows.
template <int ALGO, int SP> struct SparseStepper::Gather {
  static size_t run(const Params& P, SparseStepper& me, size_t d, const Csr& r, bool curv, const float* tau) {
    const size_t most = std::min(r.nnz, d);  // at most one coordinate per entry
    if (me.s1_.size() < most) me.grow(most);
    me.coords_.resize(most);
    me.slots_.resize(most);
    size_t T = 16;
    while (T < 2 * most || (T < d && d <= kDirect)) T *= 2;
    if (me.table_.size() != T) me.table_.assign(T, -1);  // else free from the last call on
    const SumsBuf buf = me.sums();
    const bool far = d * sizeof(float) > kFar;
    size_t U = 0;
    for (size_t k = 0; k < r.nnz; ++k) {
      const int32_t i = r.indices[k];
      if (tau) {
        if (far && k + kAheadEntries < r.nnz) prefetch(tau + r.indices[k + kAheadEntries]);
        if (tau[i] > 0.0f) continue;
      }
      int32_t* at = me.find(i);
      SumsT<float> s = sums_zero<float>();
      if (*at < 0) {  // named for the first time
        *at = (int32_t)U;
        me.slots_[U] = (int32_t)(at - me.table_.data());
        me.coords_[U++] = i;
      } else {
        s = buf.load<float>((size_t)*at);
      }
      add_grad<SP>(s, r.values[k]);
      if (curv) add_curv<ALGO, SP>(P, s, r.values[k], r.shifted[k]);
      buf.store((size_t)*at, s);
    }
    for (size_t u = 0; u < U; ++u) me.table_[(size_t)me.slots_[u]] = -1;  // O(U), not O(T)
    return U;
  }
};

void SparseStepper::grow(size_t U) {
  for (auto* v : {&m_, &s2_, &c1_, &c2_}) v->resize(U);
  s1_.resize(U);
}

SumsBuf SparseStepper::sums() { return SumsBuf{m_.data(), s1_.data(), s2_.data(), c1_.data(), c2_.data(), nullptr}; }

StepStats SparseStepper::step(const Params& P, float* theta, float* state, size_t d, size_t ld, const Csr& r, float* probe_out,
                              int threads) {
  const bool curv = r.shifted != nullptr && uses_sparsity(P.algo);
  const size_t U = dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, curv, (const float*)nullptr);
  const NamedStepFn fn = cpu_kernels(P.algo, P.sparsity).named_step;
  if (!fn || U == 0) return StepStats{};
  const StepK K = step_k(r.n, curv);
  const Place at{theta, state, d, ld, probe_out};
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
  const size_t U = dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, r.shifted != nullptr && uses_sparsity(P.algo),
                                    (const float*)nullptr);
  const SumsBuf buf = sums();
  for (size_t u = 0; u < U; ++u) {
    const int32_t i = coords_[u];
    out.store(at ? (size_t)(std::lower_bound(at, at + count, i) - at) : (size_t)i, buf.load<float>(u));
  }
}

StepStats SparseStepper::finish(const Params& P, float* theta, float* state, size_t d, size_t ld, int rows, bool curv,
                                const int32_t* at, size_t count, const WireBuf& in, float* probe_out) {
  const WireNamedStepFn fn = cpu_kernels(P.algo, P.sparsity).wire_named_step;
  if (!fn || count == 0) return StepStats{};
  return fn(P, step_k(rows, curv && uses_sparsity(P.algo)), in, at, count, Place{theta, state, d, ld, probe_out});
}

void SparseStepper::probe_sums(const Params& P, float* theta, float* state, size_t d, size_t ld, int rows, const int32_t* at,
                               size_t count, const WireBuf& in, float* out) {
  const WireNamedProbeFn fn = cpu_kernels(P.algo, P.sparsity).wire_named_probe;
  if (fn && count > 0) fn(P, step_k(rows, false), in, at, count, Place{theta, state, d, ld, nullptr}, out);
}

void SparseStepper::probe(const Params& P, float* theta, float* state, size_t d, size_t ld, const Csr& r, float* out) {
  const Layout L = layout(P.algo, P.sparsity);
  const float* tau = L.tau >= 0 ? state + (size_t)L.tau * ld : nullptr;
  const size_t U = dispatch<Gather>(P.algo, P.sparsity, P, *this, d, r, false, tau);
  const NamedProbeFn fn = cpu_kernels(P.algo, P.sparsity).named_probe;
  if (fn && U > 0) fn(P, step_k(r.n, false), sums(), coords_.data(), U, Place{theta, state, d, ld, nullptr}, out);
}

}  // namespace vsgd
