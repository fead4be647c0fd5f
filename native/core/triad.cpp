// The memory probes the benchmarks compare against; not algorithm math. They live in the core so
// that the benchmarks measure them with the library's build flags.
#include <cstddef>
#include <cstdint>

#include "backend.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {

// STREAM-style triad a = b + s*c: the bandwidth of streaming access.
void triad(float* a, const float* b, const float* c, float s, size_t n, int threads) {
#ifdef _OPENMP
  const int t = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(t)
#endif
  for (int64_t i = 0; i < (int64_t)n; ++i) a[i] = b[i] + s * c[i];
}

// The traffic of a sparse update with nothing else: at each of the nnz indices every array is
// read and written (x + 0 changes no bits but those of -0, and cannot be left out) and out
// written. One thread, in index order, as the sparse step walks its rows.
void scatter_probe(float* const* arrays, int count, float* out, const int32_t* idx, size_t nnz) {
  for (size_t e = 0; e < nnz; ++e) {
    const size_t i = (size_t)idx[e];
    float s = 0.0f;
    for (int k = 0; k < count; ++k) {
      const float x = arrays[k][i] + 0.0f;
      arrays[k][i] = x;
      s += x;
    }
    out[i] = s;
  }
}

}  // namespace vsgd
