// The CPU kernels for any processor (the compiler's baseline instruction set).
#define VSGD_ISA generic
#include "cpu_kernels.h"
