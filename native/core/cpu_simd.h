// The CPU's lane types for the math of vsgd_math.h: GCC/Clang vector extensions, which give the
// arithmetic, comparisons and selects; the few functions below complete them. Eight lanes
// (cpu_generic.cpp: the compiler's baseline; cpu_avx2.cpp: AVX2 + FMA) and, where the build has
// AVX-512, sixteen (cpu_avx512.cpp).
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
typedef unsigned vu8 __attribute__((vector_size(32)));
typedef float vf4 __attribute__((vector_size(16)));
typedef double vd4 __attribute__((vector_size(32)));

// Eight lanes in double, as two halves of four: the wide type of vf8 (sums that keep their digits).
struct vd8 {
  vd4 lo, hi;
};
VSGD_LANE vd8 operator+(vd8 a, vd8 b) { return {a.lo + b.lo, a.hi + b.hi}; }
VSGD_LANE vd8 operator*(vd8 a, vd8 b) { return {a.lo * b.lo, a.hi * b.hi}; }
VSGD_LANE vd8 operator/(vd8 a, vd8 b) { return {a.lo / b.lo, a.hi / b.hi}; }
VSGD_LANE vd8 operator+(vd8 a, double b) { return {a.lo + b, a.hi + b}; }
VSGD_LANE vd8 operator*(vd8 a, double b) { return {a.lo * b, a.hi * b}; }

VSGD_LANE vm8 bits(vf8 x) { return (vm8)x; }
VSGD_LANE vf8 from_bits(vm8 b) { return (vf8)b; }

// Halves and their join, in registers (a round trip through memory would stall the loads on
// the stores: their sizes differ).
VSGD_LANE vf4 lo4(vf8 x) { return __builtin_shufflevector(x, x, 0, 1, 2, 3); }
VSGD_LANE vf4 hi4(vf8 x) { return __builtin_shufflevector(x, x, 4, 5, 6, 7); }
VSGD_LANE vf8 join(vf4 a, vf4 b) { return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7); }
#if defined(__AVX__)
// (GCC lowers the generic conversions two lanes at a time, through a register it also carries
// from one loop iteration to the next)
VSGD_LANE vd8 widen8(vf8 x) {
  const __m256 v = (__m256)x;
  return {(vd4)_mm256_cvtps_pd(_mm256_castps256_ps128(v)), (vd4)_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))};
}
VSGD_LANE vf8 narrow8(vd8 x) {
  return (vf8)_mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps((__m256d)x.lo)), _mm256_cvtpd_ps((__m256d)x.hi), 1);
}
#else
VSGD_LANE vd8 widen8(vf8 x) { return {__builtin_convertvector(lo4(x), vd4), __builtin_convertvector(hi4(x), vd4)}; }
VSGD_LANE vf8 narrow8(vd8 x) { return join(__builtin_convertvector(x.lo, vf4), __builtin_convertvector(x.hi, vf4)); }
#endif

template <> struct Lanes<vf8> {
  using M = vm8;
  using W = vd8;
  using U = vu8;
  static VSGD_LANE vf8 sqrt(vf8 x) {
#if defined(__AVX__)
    return (vf8)_mm256_sqrt_ps((__m256)x);
#else
    for (size_t l = 0; l < 8; ++l) x[l] = sqrtf(x[l]);
    return x;
#endif
  }
  static VSGD_LANE vf8 abs(vf8 x) { return from_bits(bits(x) & 0x7fffffff); }
  // as Lanes<float>: b is never NaN where these are used
  static VSGD_LANE vf8 max(vf8 a, vf8 b) { return a > b ? a : b; }
  static VSGD_LANE vf8 min(vf8 a, vf8 b) { return a < b ? a : b; }
  static VSGD_LANE vm8 isfinite(vf8 x) { return abs(x) <= 3.40282347e38f; }  // false for NaN and ±inf
  static VSGD_LANE vf8 wmean(vf8 a, vf8 na, vf8 b, vf8 nb) {
    const vd8 da = widen8(a), dna = widen8(na), db = widen8(b), dnb = widen8(nb);
    return narrow8((dna * da + dnb * db) / (dna + dnb));
  }
  static VSGD_LANE vd8 widen(vf8 x) { return widen8(x); }
  static VSGD_LANE vf8 narrow(vd8 x) { return narrow8(x); }
  static VSGD_LANE vu8 ubits(vf8 x) { return (vu8)x; }
  static VSGD_LANE vu8 index(size_t i) {
    const unsigned b = (unsigned)i;
    return vu8{b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7};
  }
  static VSGD_LANE vf8 sign(vu8 top) { return top != 0 ? vf8{} - 1.0f : vf8{} + 1.0f; }
};
template <> VSGD_LANE vm8 vnot<vm8>(vm8 m) { return ~m; }
template <> VSGD_LANE bool any_lane<vm8>(vm8 m) {
#if defined(__AVX__)
  return _mm256_movemask_ps((__m256)m) != 0;
#else
  for (size_t l = 0; l < 8; ++l)
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

// Lanes at scattered places: base[idx[l]] for l = 0..7 (sparse rows name their coordinates).
template <class F> VSGD_LANE F gather(const float* base, const int32_t* idx);
template <> VSGD_LANE float gather<float>(const float* base, const int32_t* idx) { return base[*idx]; }
template <> VSGD_LANE vf8 gather<vf8>(const float* base, const int32_t* idx) {
#if defined(__AVX2__)
  return (vf8)_mm256_i32gather_ps(base, _mm256_loadu_si256((const __m256i*)idx), 4);
#else
  return vf8{base[idx[0]], base[idx[1]], base[idx[2]], base[idx[3]], base[idx[4]], base[idx[5]], base[idx[6]], base[idx[7]]};
#endif
}
// The coordinate indices idx[0..7] as unsigned lanes (the 'signed' probe's signs hash them).
template <class F> VSGD_LANE ulanes_t<F> index_lanes(const int32_t* idx);
template <> VSGD_LANE uint32_t index_lanes<float>(const int32_t* idx) { return (uint32_t)*idx; }
template <> VSGD_LANE vu8 index_lanes<vf8>(const int32_t* idx) {
  vu8 v;
  std::memcpy(&v, idx, sizeof v);
  return v;
}
VSGD_LANE void scatter(float* base, const int32_t* idx, float v) { base[*idx] = v; }
VSGD_LANE void scatter(float* base, const int32_t* idx, vf8 v) {
  for (size_t l = 0; l < 8; ++l) base[idx[l]] = v[l];
}

VSGD_LANE int64_t sum(vm8 v) {
  int64_t c = 0;
  for (size_t l = 0; l < 8; ++l) c += v[l];
  return c;
}

#if defined(__AVX512F__)
// Sixteen lanes (AVX-512 F, VL, DQ, BW): one 512-bit register. The update of a lane group is a
// long chain of dependent operations (two divisions deep, then the finite test and the stores);
// sixteen coordinates per chain halve the chains per coordinate that the processor must overlap.
typedef float vf16 __attribute__((vector_size(64)));
typedef int vm16 __attribute__((vector_size(64)));
typedef unsigned vu16 __attribute__((vector_size(64)));
typedef double vd8x __attribute__((vector_size(64)));
struct vd16 {  // the wide type of vf16: two halves of eight doubles
  vd8x lo, hi;
};
VSGD_LANE vd16 operator+(vd16 a, vd16 b) { return {a.lo + b.lo, a.hi + b.hi}; }
VSGD_LANE vd16 operator*(vd16 a, vd16 b) { return {a.lo * b.lo, a.hi * b.hi}; }
VSGD_LANE vd16 operator/(vd16 a, vd16 b) { return {a.lo / b.lo, a.hi / b.hi}; }
VSGD_LANE vd16 operator+(vd16 a, double b) { return {a.lo + b, a.hi + b}; }
VSGD_LANE vd16 operator*(vd16 a, double b) { return {a.lo * b, a.hi * b}; }
// (the zero-masking forms with every lane on are the same instructions; the plain ones start
// from an undefined register, which GCC 12 reports as maybe uninitialized at every use)
VSGD_LANE vd16 widen16(vf16 x) {
  const __m512 v = (__m512)x;
  const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, _mm512_castps_pd(v), 0));
  const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, _mm512_castps_pd(v), 1));
  return {(vd8x)_mm512_maskz_cvtps_pd(0xff, lo), (vd8x)_mm512_maskz_cvtps_pd(0xff, hi)};
}
VSGD_LANE vf16 narrow16(vd16 x) {
  const __m256 lo = _mm512_maskz_cvtpd_ps(0xff, (__m512d)x.lo), hi = _mm512_maskz_cvtpd_ps(0xff, (__m512d)x.hi);
  return (vf16)_mm512_castpd_ps(
      _mm512_maskz_insertf64x4(0xff, _mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

template <> struct Lanes<vf16> {
  using M = vm16;
  using W = vd16;
  using U = vu16;
  static VSGD_LANE vf16 sqrt(vf16 x) { return (vf16)_mm512_maskz_sqrt_ps(0xffff, (__m512)x); }
  static VSGD_LANE vf16 abs(vf16 x) { return (vf16)((vm16)x & 0x7fffffff); }
  static VSGD_LANE vf16 max(vf16 a, vf16 b) { return a > b ? a : b; }  // as Lanes<vf8>
  static VSGD_LANE vf16 min(vf16 a, vf16 b) { return a < b ? a : b; }
  static VSGD_LANE vm16 isfinite(vf16 x) { return abs(x) <= 3.40282347e38f; }
  static VSGD_LANE vf16 wmean(vf16 a, vf16 na, vf16 b, vf16 nb) {
    const vd16 da = widen16(a), dna = widen16(na), db = widen16(b), dnb = widen16(nb);
    return narrow16((dna * da + dnb * db) / (dna + dnb));
  }
  static VSGD_LANE vd16 widen(vf16 x) { return widen16(x); }
  static VSGD_LANE vf16 narrow(vd16 x) { return narrow16(x); }
  static VSGD_LANE vu16 ubits(vf16 x) { return (vu16)x; }
  static VSGD_LANE vu16 index(size_t i) {
    const unsigned b = (unsigned)i;
    return vu16{b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14, b + 15};
  }
  static VSGD_LANE vf16 sign(vu16 top) { return top != 0 ? vf16{} - 1.0f : vf16{} + 1.0f; }
};
template <> VSGD_LANE vm16 vnot<vm16>(vm16 m) { return ~m; }
template <> VSGD_LANE bool any_lane<vm16>(vm16 m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
template <> VSGD_LANE vf16 lane_load<vf16>(const float* p) {
  vf16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <> VSGD_LANE void lane_store<vf16>(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }
template <> VSGD_LANE vd16 wide_load<vf16>(const double* p) {
  vd16 v;
  std::memcpy(&v.lo, p, sizeof v.lo);
  std::memcpy(&v.hi, p + 8, sizeof v.hi);
  return v;
}
template <> VSGD_LANE void wide_store<vd16>(double* p, vd16 v) {
  std::memcpy(p, &v.lo, sizeof v.lo);
  std::memcpy(p + 8, &v.hi, sizeof v.hi);
}
template <> VSGD_LANE vf16 gather<vf16>(const float* base, const int32_t* idx) {
  return (vf16)_mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, _mm512_loadu_si512((const void*)idx), base, 4);
}
template <> VSGD_LANE vu16 index_lanes<vf16>(const int32_t* idx) {
  vu16 v;
  std::memcpy(&v, idx, sizeof v);
  return v;
}
VSGD_LANE void scatter(float* base, const int32_t* idx, vf16 v) {
  for (size_t l = 0; l < 16; ++l) base[idx[l]] = v[l];
}
VSGD_LANE int64_t sum(vm16 v) {
  int64_t c = 0;
  for (size_t l = 0; l < 16; ++l) c += v[l];
  return c;
}
#endif

}  // namespace vsgd
