// What each instruction-set build of the CPU kernels (cpu_kernels.h) offers to cpu.cpp.
#pragma once
#include "backend.h"

namespace vsgd {

constexpr size_t kBlock = 512;  // coordinates per block: the block's sums stay in L1/L2

using StepBlockFn = StepStats (*)(const Params&, const StepArgs&, size_t i0, size_t len);
using ProbeBlockFn = void (*)(const Params&, const StepArgs&, size_t i0, size_t len, float* out);
struct Kernels {
  StepBlockFn step;
  ProbeBlockFn probe;  // null for algorithms without a probe point
  ProbeBlockFn patch;  // probe at the bootstrapping coordinates only (Backend::patch_probe)
};

namespace generic {
Kernels kernels(int algo, int sparsity);
}
namespace avx2 {
Kernels kernels(int algo, int sparsity);  // built with -mavx2 -mfma on x86-64 only
}

}  // namespace vsgd
