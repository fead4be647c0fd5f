// What each instruction-set build of the CPU traversal (cpu_kernels.h) offers to cpu.cpp.
#pragma once
#include "backend.h"
#include "traverse.h"
#include "wire.h"

namespace vsgd {

constexpr size_t kBlock = 512;  // coordinates per block of many rows: its sums stay in L1

// Where the dense pass stops keeping every row's sums in registers (cpu_kernels.h): measured,
// see docs/performance.md; the CPU backend's options may override them (native/tools/bench_cpu).
struct Tuning {
  int fused_rows = 8;        // up to this many rows: one pass, sums in registers
  int chunk_rows = 8;        // beyond: rows in chunks of this many, sums buffered per block between chunks
  bool eta_in_pass = false;  // measurement only: load and store eta even where a read derives it
  int pair_rows = 2;         // from this many rows (fused shape): two lane groups, each row's line whole
  int ahead = 1024;          // the dense pass asks for the lines this many coordinates on (into L2); 0: not
};

// Arrays beyond this many bytes are taken to live in memory rather than in cache: the sparse
// kernels then prefetch the coordinates they are about to visit.
constexpr size_t kFar = size_t(1) << 20;

// A prefetch the compiler keeps. GCC from -O2 on (C++11 and later: -ffinite-loops) deletes a
// loop whose body is nothing but prefetches, as a loop without side effects; the empty volatile
// asm is one, and emits nothing. RW: 1 for a line about to be written; LOCALITY 3: into L1, 2: L2.
template <int RW = 0, int LOCALITY = 3> inline void prefetch(const void* p) {
  __builtin_prefetch(p, RW, LOCALITY);
  asm volatile("");
}

using StepRangeFn = StepStats (*)(const Params&, const StepK&, const StepArgs&, size_t i0, size_t i1, const Tuning&);
using ProbeRangeFn = void (*)(const Params&, const StepK&, const StepArgs&, size_t i0, size_t i1, float* out);
// U coordinates named by coords (sparse rows), their sums in a SumsBuf indexed like coords
using NamedStepFn = StepStats (*)(const Params&, const StepK&, const SumsBuf&, const int32_t* coords, size_t U,
                                  const Place& at);
using NamedProbeFn = void (*)(const Params&, const StepK&, const SumsBuf&, const int32_t* coords, size_t U,
                              const Place& at, float* out);
// The phases of a data-parallel step (Backend::sums, finish, probe_sums; wire.h): the rows' sums
// of a range into a wire buffer, and the update or the probe point from a reduced one, over a
// range or at named coordinates (the wire indexed like coords).
using SumsRangeFn = void (*)(const Params&, const StepK&, const StepArgs&, size_t i0, size_t i1, const Tuning&,
                             const WireBuf&);
using WireRangeFn = StepStats (*)(const Params&, const StepK&, const StepArgs&, size_t i0, size_t i1, const WireBuf&);
using WireProbeRangeFn = void (*)(const Params&, const StepK&, const StepArgs&, size_t i0, size_t i1, const WireBuf&,
                                  float* out);
using WireNamedStepFn = StepStats (*)(const Params&, const StepK&, const WireBuf&, const int32_t* coords, size_t U,
                                      const Place& at);
using WireNamedProbeFn = void (*)(const Params&, const StepK&, const WireBuf&, const int32_t* coords, size_t U,
                                  const Place& at, float* out);
struct Kernels {
  StepRangeFn step;
  ProbeRangeFn probe;  // null for algorithms without a probe point
  ProbeRangeFn patch;  // probe at the bootstrapping coordinates only (Backend::patch_probe)
  NamedStepFn named_step;    // sparse rows (null for the baselines, which take none)
  NamedProbeFn named_probe;
  void (*eta)(const Params&, float n, float* state, size_t ld, size_t i0, size_t i1);  // derive_eta()
  SumsRangeFn sums;
  WireRangeFn wire_step;
  WireProbeRangeFn wire_probe;        // null for algorithms without a probe point
  WireNamedStepFn wire_named_step;    // null for the baselines
  WireNamedProbeFn wire_named_probe;
};
// The kernels of the instruction set this processor runs (cpu.cpp), for the sparse rows.
Kernels cpu_kernels(int algo, int sparsity);

namespace generic {
Kernels kernels(int algo, int sparsity);
}
namespace avx2 {
Kernels kernels(int algo, int sparsity);  // built with -mavx2 -mfma on x86-64 only
}
namespace avx512 {
Kernels kernels(int algo, int sparsity);  // built with AVX-512 F, VL, DQ, BW on x86-64 only
}

}  // namespace vsgd
