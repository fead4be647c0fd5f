// The CPU kernels built with AVX-512 (F, VL, DQ, BW) and sixteen lanes (x86-64 only); cpu.cpp
// picks them at run time when the processor has all four.
#define VSGD_ISA avx512
#define VSGD_LANES 16
#include "cpu_kernels.h"
