// Phase (a)'s sums as the processes of a data-parallel step send them to each other (traverse.h,
// "Phases"; docs/distributed.md): one float buffer, field after field, holding only the fields
// the step reads, so that a dense step sends at most 4 floats per coordinate:
//   m        the active-row count (sparse rates only: dense rows are all active)
//   Σ∇       times `scale` = 1 / (the rows of all processes): each process's share of the mean,
//            within the float range whenever the mean is; the receiver multiplies it back in double
//   Σ∇²      vSGD-fd, vSGD and natural gradient (the others step with the mean alone); in the
//            probe's buffer for vSGD-fd's 'signed' variant only (its δ reads the mean of ∇²)
//   Σc, Σc²  steps with curvature rows (Σc² for vSGD-fd only)
// A non-finite entry makes its sum non-finite here too, so finish() still skips its coordinate.
#pragma once
#include <stddef.h>

#include "traverse.h"

namespace vsgd {

struct WireBuf {
  float *m, *s1, *s2, *c1, *c2;  // null: not sent, reads as 0
  double scale, unscale;         // Σ∇ is sent times scale and read back times unscale
  // What (c) reads may be the processes' own buffers side by side, `stride` floats apart: their
  // sum is then taken while loading, in process order (the reduction folded into the update).
  int parts = 1;
  size_t stride = 0;

  template <class F> VSGD_HD F part_sum(const float* p, size_t k) const {
    F v = lane_load<F>(p + k);
    for (int r = 1; r < parts; ++r) v = v + lane_load<F>(p + (size_t)r * stride + k);
    return v;
  }
  template <class F> VSGD_HD SumsT<F> load(size_t k) const {
    SumsT<F> s = sums_zero<F>();
    if (m) s.m = part_sum<F>(m, k);
    s.s1 = widen(part_sum<F>(s1, k)) * unscale;
    if (s2) s.s2 = part_sum<F>(s2, k);
    if (c1) s.c1 = part_sum<F>(c1, k);
    if (c2) s.c2 = part_sum<F>(c2, k);
    return s;
  }
  template <class F> VSGD_HD void store(size_t k, const SumsT<F>& s) const {
    if (m) lane_store(m + k, s.m);
    lane_store(s1 + k, narrow<F>(s.s1 * scale));
    if (s2) lane_store(s2 + k, s.s2);
    if (c1) lane_store(c1 + k, s.c1);
    if (c2) lane_store(c2 + k, s.c2);
  }
};

// The fields of a step's wire buffer for `len` coordinates from `base` (the probe point needs m
// and Σ∇, and Σ∇² under 'signed'); `floats` gets how many it spans, which is what the processes add up.
inline WireBuf wire_layout(const Params& P, bool curv, bool probe, float* base, size_t len, int rows, size_t* floats) {
  const int algo = P.algo, sparsity = P.sparsity;
  const bool vsgd = uses_sparsity(algo);
  float* next = base;
  auto take = [&](bool used) {
    float* p = used ? next : nullptr;
    if (used) next += len;
    return p;
  };
  WireBuf w;
  w.m = take(vsgd && sparsity != kDense);
  w.s1 = take(true);
  w.s2 = take(probe ? algo == kVsgdFd && P.variant == kSigned : vsgd || algo == kNatural);
  w.c1 = take(!probe && vsgd && curv);
  w.c2 = take(!probe && algo == kVsgdFd && curv);
  w.unscale = rows > 0 ? (double)rows : 1.0;
  w.scale = 1.0 / w.unscale;
  *floats = (size_t)(next - base);
  return w;
}

}  // namespace vsgd
