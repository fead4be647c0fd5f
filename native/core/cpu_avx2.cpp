// The CPU kernels built with -mavx2 -mfma (x86-64 only); cpu.cpp picks them at run time
// when the processor has both.
#define VSGD_ISA avx2
#include "cpu_kernels.h"
