// Sparse rows (CSR) for the per-coordinate sparse rates: a step costs O(nnz), whatever d is.
// The sequence of a coordinate is traverse.h's; this file only gathers each named coordinate's
// active entries into its sums.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "backend.h"
#include "traverse.h"
#include "wire.h"

namespace vsgd {

// n rows in compressed sparse row form: row j holds indices[offsets[j] .. offsets[j+1]),
// sorted and unique, with values (gradients) and, when curvature comes, shifted (gradients
// at the probe point) aligned with them.
struct Csr {
  const int32_t* offsets;  // n + 1
  const int32_t* indices;  // nnz
  const float* values;     // nnz
  const float* shifted;    // nnz or null
  int n;
  size_t nnz;
};

// "" when the rows are well formed for d coordinates, else what is wrong (for the error).
std::string check_csr(const Csr& r, size_t d);

class SparseStepper {
 public:
  // One update. Coordinates the rows do not name are not read or written. When probe_out is
  // not null, θ+δ is rewritten there for every coordinate the rows name, so a probe point that
  // was current before stays current. stats.bootstrapping counts the coordinates that finished
  // their bootstrap in this update.
  StepStats step(const Params& P, float* theta, float* state, size_t d, size_t ld, const Csr& rows, float* probe_out, int threads);
  // out[i] = θ_i + δ_i for the coordinates the rows name that still bootstrap (δ with this step's
  // rows). Past bootstrap δ depends on the state alone, and the update that last changed it wrote
  // the point: out must hold it there (the point step() writes, or a full probe pass).
  void probe(const Params& P, float* theta, float* state, size_t d, size_t ld, const Csr& rows, float* out);

  // The phases of a data-parallel step (traverse.h, wire.h) at a list of coordinates `at`
  // (sorted: the union of every process's; it holds every index of this process's rows):
  // (a) the rows' sums into `out`, coordinate at[u] at position u (out zeroed by the caller);
  //     with `at` null, coordinate i at position i (all d of them);
  void sums(const Params& P, size_t d, const Csr& rows, const int32_t* at, size_t count, const WireBuf& out);
  // (c) the update there from the sums reduced over `rows` rows in all (stats as step()'s), or
  // the probe point.
  StepStats finish(const Params& P, float* theta, float* state, size_t d, size_t ld, int rows, bool curv, const int32_t* at,
                   size_t count, const WireBuf& in, float* probe_out);
  void probe_sums(const Params& P, float* theta, float* state, size_t d, size_t ld, int rows, const int32_t* at, size_t count,
                  const WireBuf& in, float* out);

 private:
  template <int ALGO, int SP> struct Gather;
  SumsBuf sums();
  void grow(size_t U);
  int32_t* find(int32_t i);
  std::vector<int32_t> coords_;  // the named coordinates, in the order the rows first name them
  std::vector<int32_t> table_;   // find()'s: places in coords_, -1 where free (a power of two); all free between calls
  std::vector<int32_t> slots_;   // where in table_ each of coords_ went, to free them
  std::vector<float> m_, s2_, c1_, c2_;  // their sums (traverse.h's phase (a)), indexed like coords_
  std::vector<double> s1_;
};

}  // namespace vsgd
