# CUDA backend (docs/cuda.md).
#   VSGD_CUDA=AUTO  compile native/core/cuda.cu when a CUDA compiler is found, else the stub
#   VSGD_CUDA=ON    the same, but a missing CUDA compiler is a configuration error
#   VSGD_CUDA=OFF   never: native/core/cuda_stub.cpp answers "built without CUDA"
# The runtime is linked statically (libcudart_static), so vsgd.node and the tools load on a
# machine without a GPU or without the NVIDIA driver; cuda_info() then says why CUDA is unusable.
# Sets VSGD_CUDA_BUILT (ON/OFF) for cmake/tools.cmake.

string(TOUPPER "${VSGD_CUDA}" _vsgd_cuda)
if(NOT _vsgd_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "VSGD_CUDA must be AUTO, ON or OFF, not '${VSGD_CUDA}'")
endif()

set(VSGD_CUDA_BUILT OFF)
if(NOT _vsgd_cuda STREQUAL "OFF")
  # Hopper machine code plus PTX (the driver JIT-compiles the PTX for newer chips).
  # Set before enable_language so CMake does not pick its own default; -D overrides it.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING "CUDA architectures for the CUDA backend")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(VSGD_CUDA_BUILT ON)
  elseif(_vsgd_cuda STREQUAL "ON")
    message(FATAL_ERROR "VSGD_CUDA=ON but no CUDA compiler was found (put nvcc on PATH or set CMAKE_CUDA_COMPILER)")
  else()
    message(STATUS "vsgd: no CUDA compiler found; building without the CUDA backend")
  endif()
endif()

if(VSGD_CUDA_BUILT)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  target_sources(vsgd_core PRIVATE native/core/cuda.cu)
  # vsgd_core was created before CUDA was enabled, so its architectures are set here.
  set_target_properties(vsgd_core PROPERTIES CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
  # Whole-program compilation (no relocatable device code), so no device-link step is needed and
  # the objects go into the static, position-independent vsgd_core and on into the shared vsgd.node
  # like any host object. CMAKE_POSITION_INDEPENDENT_CODE makes CMake pass -Xcompiler=-fPIC.
  set_target_properties(vsgd_core PROPERTIES
    CUDA_SEPARABLE_COMPILATION OFF
    CUDA_RESOLVE_DEVICE_SYMBOLS OFF
    CUDA_RUNTIME_LIBRARY Static
    POSITION_INDEPENDENT_CODE ON)
  # --fmad=false: no contraction of a*b+c into FMA, as the CPU kernels are built
  # (-ffp-contract=off), so CUDA reproduces the CPU backend bit for bit (docs/cuda.md,
  # "Rounding"). The step is memory-bound, so this costs nothing measurable.
  target_compile_options(vsgd_core PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false -lineinfo>)
  # The host side of anything linking vsgd_core (vsgd.node, the tools) needs the static runtime.
  target_link_libraries(vsgd_core PUBLIC CUDA::cudart_static)
  target_compile_definitions(vsgd_core PUBLIC VSGD_HAVE_CUDA=1)
  message(STATUS "vsgd: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  target_sources(vsgd_core PRIVATE native/core/cuda_stub.cpp)
  message(STATUS "vsgd: CUDA backend OFF (stub)")
endif()
