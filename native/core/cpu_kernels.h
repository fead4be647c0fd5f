// The CPU traversal of one block of coordinates, included once per instruction set
// (cpu_generic.cpp, cpu_avx2.cpp) under a namespace named by VSGD_ISA. Inside a block the rows
// are walked row by row (contiguous, prefetch-friendly) into structure-of-arrays sums; then the
// coordinates are finished 8 at a time by vsgd_math.h's templates on the 8-lane type, and the block's
// tail one at a time by the same templates on float. The algorithm and sparsity are template
// constants, so the state layout and the uniform choices fold away.
#include <algorithm>

#include "cpu_isa.h"
#include "cpu_simd.h"

namespace vsgd {
namespace VSGD_ISA {

// State field at a compile-time slot (absent fields read as zero and are never stored).
template <int SLOT, class F> inline F field(const float* s, size_t d, size_t i) {
  if constexpr (SLOT < 0) return F{};
  else return lane_load<F>(s + (size_t)SLOT * d + i);
}
template <int SLOT, class F> inline void put(float* s, size_t d, size_t i, F v) {
  if constexpr (SLOT >= 0) lane_store(s + (size_t)SLOT * d + i, v);
}

template <int ALGO, int SP>
struct Block {
  static constexpr Layout L = layout(ALGO, SP);

  // double sums of the block's rows, then their means rounded to float for the update
  alignas(64) acc_t m[kBlock], s1[kBlock], s2[kBlock], c1[kBlock], c2[kBlock], dir[kBlock];
  alignas(64) float fm[kBlock], fs1[kBlock], fs2[kBlock], fc1[kBlock], fc2[kBlock], fdir[kBlock], inv[kBlock];
  alignas(64) int bad[kBlock];
  bool has_dir = false;

  void sums(const Params& P, const StepArgs& a, size_t i0, size_t len, bool curv) {
    const size_t d = a.d;
    for (size_t k = 0; k < len; ++k) m[k] = s1[k] = s2[k] = c1[k] = c2[k] = 0.0, bad[k] = 0;
    if (a.weights) std::fill(dir, dir + len, 0.0);
    has_dir = a.weights != nullptr;
    for (int j = 0; a.grads && j < a.n; ++j) {
      const float* row = a.grads + (size_t)j * d + i0;
#pragma omp simd
      for (size_t k = 0; k < len; ++k) acc_grad(SP, row[k], m[k], s1[k], s2[k], bad[k]);
      if (a.weights) {
        const acc_t w = a.weights[j];
#pragma omp simd
        for (size_t k = 0; k < len; ++k) acc_dir(w, row[k], dir[k]);
      }
    }
    if (!curv) return round(len);
    if constexpr (needs_offset(ALGO)) {
#pragma omp simd
      for (size_t k = 0; k < len; ++k) {  // for δ
        const acc_t inv = inv_count(m[k]);
        fm[k] = (float)m[k], fs1[k] = mean_of(s1[k], inv), fs2[k] = mean_of(s2[k], inv);
      }
      offsets(P, a, i0, len, inv);
    }
    const bool sgn = P.variant == kSigned;
    for (int j = 0; j < a.n; ++j) {
      const float* row = a.grads + (size_t)j * d + i0;
      const float* ext = a.extra + (size_t)j * d + i0;
#pragma omp simd
      for (size_t k = 0; k < len; ++k) acc_curv(ALGO, SP, sgn, row[k], ext[k], inv[k], c1[k], c2[k], bad[k]);
    }
    round(len);
  }

  void round(size_t len) {
    if (has_dir) {
#pragma omp simd
      for (size_t k = 0; k < len; ++k) fdir[k] = (float)dir[k];
    }
#pragma omp simd
    for (size_t k = 0; k < len; ++k) {
      const acc_t inv = inv_count(m[k]);
      fm[k] = (float)m[k], fs1[k] = mean_of(s1[k], inv), fs2[k] = mean_of(s2[k], inv);
      fc1[k] = mean_of(c1[k], inv), fc2[k] = mean_of(c2[k], inv);
    }
  }

  // curv_scale(δ) per coordinate, or θ+δ when `plus_theta` (the probe point).
  template <class F> void offset_at(const Params& P, const StepArgs& a, size_t i0, size_t k, float* out, bool plus_theta) {
    const size_t i = i0 + k;
    const ProbeIn<F> in{field<L.g, F>(a.state, a.d, i), field<L.v, F>(a.state, a.d, i), field<L.tau, F>(a.state, a.d, i),
                        lane_load<F>(fm + k), lane_load<F>(fs1 + k), lane_load<F>(fs2 + k), i};
    const F delta = probe_offset<F>(P, in);
    lane_store(out + k, plus_theta ? lane_load<F>(a.theta + i) + delta : curv_scale<F>(P, delta));
  }
  void offsets(const Params& P, const StepArgs& a, size_t i0, size_t len, float* out, bool plus_theta = false) {
    size_t k = 0;
    for (; k + kLanes <= len; k += kLanes) offset_at<vf8>(P, a, i0, k, out, plus_theta);
    for (; k < len; ++k) offset_at<float>(P, a, i0, k, out, plus_theta);
  }

  template <class F> Outcome<mask_t<F>> update_at(const Params& P, const StepArgs& a, size_t i, size_t k, bool curv) {
    const size_t d = a.d;
    CoordT<F> c{field<L.g, F>(a.state, d, i), field<L.v, F>(a.state, d, i), field<L.h, F>(a.state, d, i),
                field<L.vh, F>(a.state, d, i), field<L.tau, F>(a.state, d, i), field<L.eta, F>(a.state, d, i),
                field<L.p, F>(a.state, d, i)};
    F th = lane_load<F>(a.theta + i);
    const BatchT<F> b{lane_load<F>(fm + k), lane_load<F>(fs1 + k), lane_load<F>(fs2 + k), lane_load<F>(fc1 + k),
                      lane_load<F>(fc2 + k), mask_load<F>(bad + k), lane_load<F>(fdir + k)};
    const Outcome<mask_t<F>> o = apply<F>(P, c, th, b, (float)a.n, curv);
    put<L.g>(a.state, d, i, c.g);
    put<L.v>(a.state, d, i, c.v);
    put<L.h>(a.state, d, i, c.h);
    put<L.vh>(a.state, d, i, c.vh);
    put<L.tau>(a.state, d, i, c.tau);
    put<L.eta>(a.state, d, i, c.eta);
    put<L.p>(a.state, d, i, c.p);
    lane_store(a.theta + i, th);
    if constexpr (needs_offset(ALGO)) {
      // the next step's probe point, while θ and g are in registers (exact once bootstrap is over)
      if (a.probe_out) lane_store(a.probe_out + i, th + next_offset<F>(P, c, i));
    }
    return o;
  }
};

template <int ALGO, int SP>
StepStats step_block(const Params& P0, const StepArgs& a, size_t i0, size_t len) {
  Params P = P0;
  P.algo = ALGO;
  P.sparsity = SP;
  const bool curv = uses_sparsity(ALGO) && a.extra != nullptr;
  static thread_local Block<ALGO, SP> B;  // ~40 KiB of sums: off the stack, once per thread
  B.sums(P, a, i0, len, curv);
  // per-lane counts (true lanes are -1), reduced once per block
  vm8 touched{}, skipped{}, outliers{}, boot{};
  size_t k = 0;
  for (; k + kLanes <= len; k += kLanes) {
    const Outcome<vm8> o = B.template update_at<vf8>(P, a, i0 + k, k, curv);
    touched -= o.touched, skipped -= o.skipped, outliers -= o.outlier, boot -= o.boot;
  }
  StepStats s;
  for (; k < len; ++k) {
    const Outcome<bool> o = B.template update_at<float>(P, a, i0 + k, k, curv);
    s.touched += o.touched, s.skipped += o.skipped, s.outliers += o.outlier, s.bootstrapping += o.boot;
  }
  s.touched += sum(touched), s.skipped += sum(skipped), s.outliers += sum(outliers), s.bootstrapping += sum(boot);
  return s;
}

template <int ALGO, int SP>
void probe_block(const Params& P, const StepArgs& a, size_t i0, size_t len, float* out) {
  static thread_local Block<ALGO, SP> B;
  B.sums(P, a, i0, len, false);
  B.offsets(P, a, i0, len, out + i0, true);
}

// probe_block where tau <= 0 only, the rest of `out` being left as the last step wrote it: a
// scan of tau, 8 lanes at a time, and the rows read only at the bootstrapping coordinates, each
// summed in the row order of Block::sums so that it rounds as probe_block does. A block where more
// than a quarter of the coordinates bootstrap is cheaper as a whole (contiguous, vectorized).
template <int ALGO, int SP>
void patch_block(const Params& P, const StepArgs& a, size_t i0, size_t len, float* out) {
  constexpr Layout L = layout(ALGO, SP);
  const float* tau = a.state + (size_t)L.tau * a.d;
  const float* g = a.state + (size_t)L.g * a.d;
  const float* v = a.state + (size_t)L.v * a.d;
  vm8 boot{};
  size_t k = 0, lanes = 0;
  for (; k + kLanes <= len; k += kLanes) boot -= lane_load<vf8>(tau + i0 + k) <= 0.0f;
  for (; k < len; ++k) lanes += tau[i0 + k] <= 0.0f;
  lanes += (size_t)sum(boot);
  if (lanes == 0) return;
  if (4 * lanes > len) return probe_block<ALGO, SP>(P, a, i0, len, out);
  for (size_t k0 = 0; k0 < len; k0 += kLanes) {
    const size_t end = std::min(len, k0 + kLanes);
    if (end - k0 == kLanes && !any_lane(lane_load<vf8>(tau + i0 + k0) <= 0.0f)) continue;
    for (size_t i = i0 + k0; i < i0 + end; ++i) {
      if (!(tau[i] <= 0.0f)) continue;
      Acc acc = acc_zero();
      for (int j = 0; a.grads && j < a.n; ++j) acc_grad(acc, SP, a.grads[(size_t)j * a.d + i]);
      const acc_t inv = inv_count(acc.m);
      const ProbeIn<float> in{g[i], v[i], tau[i], (float)acc.m, mean_of(acc.s1, inv), mean_of(acc.s2, inv), i};
      out[i] = a.theta[i] + probe_offset<float>(P, in);
    }
  }
}

template <int ALGO>
Kernels kernels_for(int sparsity) {
  switch (sparsity) {
    case kInstance: return {step_block<ALGO, kInstance>, probe_block<ALGO, kInstance>, patch_block<ALGO, kInstance>};
    case kGlobal: return {step_block<ALGO, kGlobal>, probe_block<ALGO, kGlobal>, patch_block<ALGO, kGlobal>};
    default: return {step_block<ALGO, kDense>, probe_block<ALGO, kDense>, patch_block<ALGO, kDense>};
  }
}

Kernels kernels(int algo, int sparsity) {
  switch (algo) {
    case kVsgdFd: return kernels_for<kVsgdFd>(sparsity);
    case kVsgd: return kernels_for<kVsgd>(sparsity);
    case kSgd: return {step_block<kSgd, kDense>, nullptr, nullptr};
    case kAdaGrad: return {step_block<kAdaGrad, kDense>, nullptr, nullptr};
    case kNatural: return {step_block<kNatural, kDense>, nullptr, nullptr};
    default: return {step_block<kAdam, kDense>, nullptr, nullptr};
  }
}

}  // namespace VSGD_ISA
}  // namespace vsgd
