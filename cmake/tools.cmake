# Stand-alone C++ tools under native/tools (no Node needed), built by default when the addon is
# not (-DVSGD_ADDON=OFF), so a GPU machine without Node can check and time the kernels:
#   vsgd_selfcheck  backends against a float64 re-implementation of docs/algorithm.md, and CUDA against CPU
#   vsgd_bench_cpu  the dense CPU pass against the triad: its shape (fused or blocked) by n, in cache
#   vsgd_bench_gpu  the fused step's bandwidth against a device-to-device copy (CUDA builds only)
if(VSGD_ADDON)
  set(_vsgd_tools_default OFF)
else()
  set(_vsgd_tools_default ON)
endif()
option(VSGD_TOOLS "Build native/tools (selfcheck, GPU bandwidth benchmark)" ${_vsgd_tools_default})

if(VSGD_TOOLS)
  add_executable(vsgd_selfcheck native/tools/selfcheck.cpp)
  target_link_libraries(vsgd_selfcheck PRIVATE vsgd_core)
  add_executable(vsgd_bench_cpu native/tools/bench_cpu.cpp)
  target_link_libraries(vsgd_bench_cpu PRIVATE vsgd_core)
  if(VSGD_CUDA_BUILT)
    add_executable(vsgd_bench_gpu native/tools/bench_gpu.cu)
    target_link_libraries(vsgd_bench_gpu PRIVATE vsgd_core)
    set_target_properties(vsgd_bench_gpu PROPERTIES CUDA_RUNTIME_LIBRARY Static)
  endif()
endif()
