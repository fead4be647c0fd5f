// The CPU's 8-lane type for the math of vsgd_math.h: GCC/Clang vector extensions, which give the
// arithmetic, comparisons and selects; the few functions below complete it. Built once per
// instruction set (cpu_generic.cpp: the compiler's baseline; cpu_avx2.cpp: AVX2 + FMA).
#pragma once
#include <cstring>

#include "vsgd_math.h"
#if defined(__AVX__)
#include <immintrin.h>
#endif

// Built into two objects with different instruction sets: every helper here is forced inline so
// that no out-of-line copy of one build can be linked into the other (at any optimization level).
#define VSGD_LANE inline __attribute__((always_inline))

namespace vsgd {

typedef float vf8 __attribute__((vector_size(32)));
typedef int vm8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));
typedef double vd4 __attribute__((vector_size(32)));
constexpr size_t kLanes = 8;

// Eight lanes in double, as two halves of four: the wide type of vf8 (sums that keep their digits).
struct vd8 {
  vd4 lo, hi;
};
VSGD_LANE vd8 operator+(vd8 a, vd8 b) { return {a.lo + b.lo, a.hi + b.hi}; }
VSGD_LANE vd8 operator*(vd8 a, vd8 b) { return {a.lo * b.lo, a.hi * b.hi}; }
VSGD_LANE vd8 operator/(vd8 a, vd8 b) { return {a.lo / b.lo, a.hi / b.hi}; }
VSGD_LANE vd8 operator+(vd8 a, double b) { return {a.lo + b, a.hi + b}; }
VSGD_LANE vd8 operator*(vd8 a, double b) { return {a.lo * b, a.hi * b}; }

VSGD_LANE vm8 bits(vf8 x) {
  vm8 b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

template <> struct Lanes<vf8> {
  using M = vm8;
  using W = vd8;
  static VSGD_LANE vf8 sqrt(vf8 x) {
#if defined(__AVX__)
    return (vf8)_mm256_sqrt_ps((__m256)x);
#else
    for (size_t l = 0; l < kLanes; ++l) x[l] = sqrtf(x[l]);
    return x;
#endif
  }
  static VSGD_LANE vf8 abs(vf8 x) {
    const vm8 b = bits(x) & 0x7fffffff;
    vf8 r;
    std::memcpy(&r, &b, sizeof r);
    return r;
  }
  // fmaxf/fminf differ only for NaN, which never reaches a kept result (all_finite)
  static VSGD_LANE vf8 max(vf8 a, vf8 b) { return a > b ? a : b; }
  static VSGD_LANE vf8 min(vf8 a, vf8 b) { return a < b ? a : b; }
  static VSGD_LANE vm8 isfinite(vf8 x) { return (bits(x) & 0x7f800000) != 0x7f800000; }
  static VSGD_LANE vf8 wmean(vf8 a, vf8 na, vf8 b, vf8 nb) {
    vf8 r;
    for (int h = 0; h < 2; ++h) {  // two halves of four doubles
      vf4 a4, na4, b4, nb4;
      std::memcpy(&a4, (const float*)&a + 4 * h, sizeof a4);
      std::memcpy(&na4, (const float*)&na + 4 * h, sizeof na4);
      std::memcpy(&b4, (const float*)&b + 4 * h, sizeof b4);
      std::memcpy(&nb4, (const float*)&nb + 4 * h, sizeof nb4);
      const vd4 da = __builtin_convertvector(a4, vd4), dna = __builtin_convertvector(na4, vd4);
      const vd4 db = __builtin_convertvector(b4, vd4), dnb = __builtin_convertvector(nb4, vd4);
      const vf4 m = __builtin_convertvector((dna * da + dnb * db) / (dna + dnb), vf4);
      std::memcpy((float*)&r + 4 * h, &m, sizeof m);
    }
    return r;
  }
  static VSGD_LANE vd8 widen(vf8 x) {
    vf4 a, b;
    std::memcpy(&a, &x, sizeof a);
    std::memcpy(&b, (const float*)&x + 4, sizeof b);
    return {__builtin_convertvector(a, vd4), __builtin_convertvector(b, vd4)};
  }
  static VSGD_LANE vf8 narrow(vd8 x) {
    const vf4 a = __builtin_convertvector(x.lo, vf4), b = __builtin_convertvector(x.hi, vf4);
    vf8 r;
    std::memcpy(&r, &a, sizeof a);
    std::memcpy((float*)&r + 4, &b, sizeof b);
    return r;
  }
};
template <> VSGD_LANE vm8 vnot<vm8>(vm8 m) { return ~m; }
template <> VSGD_LANE bool any_lane<vm8>(vm8 m) {
#if defined(__AVX__)
  return _mm256_movemask_ps((__m256)m) != 0;
#else
  for (size_t l = 0; l < kLanes; ++l)
    if (m[l]) return true;
  return false;
#endif
}

// Unaligned lane loads and stores.
template <> VSGD_LANE vf8 lane_load<vf8>(const float* p) {
  vf8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <> VSGD_LANE void lane_store<vf8>(float* p, vf8 v) { std::memcpy(p, &v, sizeof v); }
template <> VSGD_LANE vd8 wide_load<vf8>(const double* p) {
  vd8 v;
  std::memcpy(&v.lo, p, sizeof v.lo);
  std::memcpy(&v.hi, p + 4, sizeof v.hi);
  return v;
}
template <> VSGD_LANE void wide_store<vd8>(double* p, vd8 v) {
  std::memcpy(p, &v.lo, sizeof v.lo);
  std::memcpy(p + 4, &v.hi, sizeof v.hi);
}

VSGD_LANE int64_t sum(vm8 v) {
  int64_t c = 0;
  for (size_t l = 0; l < kLanes; ++l) c += v[l];
  return c;
}

}  // namespace vsgd
