# CUDA backend: compiled when nvcc is found (VSGD_CUDA=AUTO) or demanded (ON).
# Until native/core/cuda.cu exists the stub answers "built without CUDA".
target_sources(vsgd_core PRIVATE native/core/cuda_stub.cpp)
