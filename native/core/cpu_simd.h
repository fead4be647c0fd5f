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

// The wide types (sums that keep their digits): the lanes in double, as two halves of a register.
template <class H> struct Halves {
  H lo, hi;
};
template <class H> VSGD_LANE Halves<H> operator+(Halves<H> a, Halves<H> b) { return {a.lo + b.lo, a.hi + b.hi}; }
template <class H> VSGD_LANE Halves<H> operator*(Halves<H> a, Halves<H> b) { return {a.lo * b.lo, a.hi * b.hi}; }
template <class H> VSGD_LANE Halves<H> operator/(Halves<H> a, Halves<H> b) { return {a.lo / b.lo, a.hi / b.hi}; }
template <class H> VSGD_LANE Halves<H> operator+(Halves<H> a, double b) { return {a.lo + b, a.hi + b}; }
template <class H> VSGD_LANE Halves<H> operator*(Halves<H> a, double b) { return {a.lo * b, a.hi * b}; }
using vd8 = Halves<vd4>;  // the wide type of vf8

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

// What every vector lane type does alike (F floats, M their masks, U unsigned lanes, W the wide
// type); each Lanes<> below adds sqrt, widen and narrow.
template <class F, class M_, class W_, class U_> struct VecLanes {
  using M = M_;
  using W = W_;
  using U = U_;
  static VSGD_LANE F abs(F x) { return (F)((M)x & 0x7fffffff); }
  // as Lanes<float>: b is never NaN where these are used
  static VSGD_LANE F max(F a, F b) { return a > b ? a : b; }
  static VSGD_LANE F min(F a, F b) { return a < b ? a : b; }
  static VSGD_LANE M isfinite(F x) { return abs(x) <= 3.40282347e38f; }  // false for NaN and ±inf
  static VSGD_LANE F wmean(F a, F na, F b, F nb) {
    const W da = Lanes<F>::widen(a), dna = Lanes<F>::widen(na), db = Lanes<F>::widen(b), dnb = Lanes<F>::widen(nb);
    return Lanes<F>::narrow((dna * da + dnb * db) / (dna + dnb));
  }
  static VSGD_LANE U ubits(F x) { return (U)x; }
  static VSGD_LANE U index(size_t i) {  // i, i + 1, ...
    static constexpr unsigned iota[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static_assert(sizeof(U) <= sizeof iota, "more lanes than iota");
    U v;
    std::memcpy(&v, iota, sizeof v);
    return v + (unsigned)i;
  }
  static VSGD_LANE F sign(U top) { return top != 0 ? F{} - 1.0f : F{} + 1.0f; }
};

template <> struct Lanes<vf8> : VecLanes<vf8, vm8, vd8, vu8> {
  static VSGD_LANE vf8 sqrt(vf8 x) {
#if defined(__AVX__)
    return (vf8)_mm256_sqrt_ps((__m256)x);
#else
    for (size_t l = 0; l < 8; ++l) x[l] = sqrtf(x[l]);
    return x;
#endif
  }
  static VSGD_LANE vd8 widen(vf8 x) { return widen8(x); }
  static VSGD_LANE vf8 narrow(vd8 x) { return narrow8(x); }
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

// Whole vectors of any of the types here from and to memory, unaligned; and the helpers below
// that only walk the lanes, for every width.
template <class V, class T> VSGD_LANE V vec_read(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T> VSGD_LANE void vec_write(T* p, V v) { std::memcpy(p, &v, sizeof v); }
template <class V> VSGD_LANE void scatter_lanes(float* base, const int32_t* idx, V v) {
  for (size_t l = 0; l < sizeof v / sizeof(float); ++l) base[idx[l]] = v[l];
}
template <class M> VSGD_LANE int64_t sum_lanes(M v) {
  int64_t c = 0;
  for (size_t l = 0; l < sizeof v / sizeof(int); ++l) c += v[l];
  return c;
}

// Unaligned lane loads and stores.
template <> VSGD_LANE vf8 lane_load<vf8>(const float* p) { return vec_read<vf8>(p); }
template <> VSGD_LANE void lane_store<vf8>(float* p, vf8 v) { vec_write(p, v); }
template <> VSGD_LANE vd8 wide_load<vf8>(const double* p) { return {vec_read<vd4>(p), vec_read<vd4>(p + 4)}; }
template <> VSGD_LANE void wide_store<vd8>(double* p, vd8 v) { vec_write(p, v.lo), vec_write(p + 4, v.hi); }

// Lanes at scattered places: base[idx[l]] for every lane l (sparse rows name their coordinates).
template <class F> VSGD_LANE F gather(const float* base, const int32_t* idx);
template <> VSGD_LANE float gather<float>(const float* base, const int32_t* idx) { return base[*idx]; }
template <> VSGD_LANE vf8 gather<vf8>(const float* base, const int32_t* idx) {
#if defined(__AVX2__)
  return (vf8)_mm256_i32gather_ps(base, _mm256_loadu_si256((const __m256i*)idx), 4);
#else
  return vf8{base[idx[0]], base[idx[1]], base[idx[2]], base[idx[3]], base[idx[4]], base[idx[5]], base[idx[6]], base[idx[7]]};
#endif
}
// The coordinate indices idx[0..] as unsigned lanes (the 'signed' probe's signs hash them).
template <class F> VSGD_LANE ulanes_t<F> index_lanes(const int32_t* idx);
template <> VSGD_LANE uint32_t index_lanes<float>(const int32_t* idx) { return (uint32_t)*idx; }
template <> VSGD_LANE vu8 index_lanes<vf8>(const int32_t* idx) { return vec_read<vu8>(idx); }
VSGD_LANE void scatter(float* base, const int32_t* idx, float v) { base[*idx] = v; }
VSGD_LANE void scatter(float* base, const int32_t* idx, vf8 v) { scatter_lanes(base, idx, v); }
VSGD_LANE int64_t sum(vm8 v) { return sum_lanes(v); }

#if defined(__AVX512F__)
// Sixteen lanes (AVX-512 F, VL, DQ, BW): one 512-bit register. The update of a lane group is a
// long chain of dependent operations (two divisions deep, then the finite test and the stores);
// sixteen coordinates per chain halve the chains per coordinate that the processor must overlap.
typedef float vf16 __attribute__((vector_size(64)));
typedef int vm16 __attribute__((vector_size(64)));
typedef unsigned vu16 __attribute__((vector_size(64)));
typedef double vd8x __attribute__((vector_size(64)));
using vd16 = Halves<vd8x>;  // the wide type of vf16
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

template <> struct Lanes<vf16> : VecLanes<vf16, vm16, vd16, vu16> {
  static VSGD_LANE vf16 sqrt(vf16 x) { return (vf16)_mm512_maskz_sqrt_ps(0xffff, (__m512)x); }
  static VSGD_LANE vd16 widen(vf16 x) { return widen16(x); }
  static VSGD_LANE vf16 narrow(vd16 x) { return narrow16(x); }
};
template <> VSGD_LANE vm16 vnot<vm16>(vm16 m) { return ~m; }
template <> VSGD_LANE bool any_lane<vm16>(vm16 m) { return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0; }
template <> VSGD_LANE vf16 lane_load<vf16>(const float* p) { return vec_read<vf16>(p); }
template <> VSGD_LANE void lane_store<vf16>(float* p, vf16 v) { vec_write(p, v); }
template <> VSGD_LANE vd16 wide_load<vf16>(const double* p) { return {vec_read<vd8x>(p), vec_read<vd8x>(p + 8)}; }
template <> VSGD_LANE void wide_store<vd16>(double* p, vd16 v) { vec_write(p, v.lo), vec_write(p + 8, v.hi); }
template <> VSGD_LANE vf16 gather<vf16>(const float* base, const int32_t* idx) {
  return (vf16)_mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xffff, _mm512_loadu_si512((const void*)idx), base, 4);
}
template <> VSGD_LANE vu16 index_lanes<vf16>(const int32_t* idx) { return vec_read<vu16>(idx); }
VSGD_LANE void scatter(float* base, const int32_t* idx, vf16 v) { scatter_lanes(base, idx, v); }
VSGD_LANE int64_t sum(vm16 v) { return sum_lanes(v); }
#endif

}  // namespace vsgd
