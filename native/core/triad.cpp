// STREAM-style triad a = b + s*c: the memory-bandwidth probe the benchmarks compare against.
// Not algorithm math; it lives in the core so the CPU benchmark measures the same build flags.
#include <cstddef>
#include <cstdint>

#include "backend.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {

void triad(float* a, const float* b, const float* c, float s, size_t n, int threads) {
#ifdef _OPENMP
  const int t = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(t)
#endif
  for (int64_t i = 0; i < (int64_t)n; ++i) a[i] = b[i] + s * c[i];
}

}  // namespace vsgd
