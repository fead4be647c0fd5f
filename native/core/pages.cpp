// Huge pages for the large arrays a step walks (Linux; elsewhere nothing happens). A sparse step
// at large d touches each of θ, the state fields and the probe point on a page of its own per
// named coordinate, and with 4 KiB pages the page-table walks cost more than the cache misses
// (docs/performance.md); 2 MiB pages leave the translations in the TLB.
#include <cstdint>

#include "backend.h"
#if defined(__linux__)
#include <sys/mman.h>
#if !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25  // Linux 6.1; older C libraries lack the name
#endif
#endif

namespace vsgd {

int advise_huge_pages(void* p, size_t bytes, bool collapse) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t lo = ((uintptr_t)p + kHuge - 1) & ~(kHuge - 1), hi = ((uintptr_t)p + bytes) & ~(kHuge - 1);
  if (hi <= lo) return 0;  // no whole huge page inside
  // pages faulted from now on come as huge pages where the system allows them (its setting
  // 'madvise' or 'always')
  if (madvise((void*)lo, hi - lo, MADV_HUGEPAGE) != 0) return 0;
  // pages already written are moved onto huge pages now (best effort: an older kernel refuses)
  if (collapse) madvise((void*)lo, hi - lo, MADV_COLLAPSE);
  return (int)((hi - lo) / kHuge);
#else
  (void)p, (void)bytes, (void)collapse;
  return 0;
#endif
}

}  // namespace vsgd
