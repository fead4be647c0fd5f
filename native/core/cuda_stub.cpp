// Built when the CUDA backend is not compiled in.
#include "backend.h"

namespace vsgd {

std::unique_ptr<Backend> make_cuda_backend(std::string& why) {
  why = "vsgd-fd was built without CUDA";
  return nullptr;
}

CudaInfo cuda_info() { return CudaInfo{false, false, "vsgd-fd was built without CUDA", ""}; }

}  // namespace vsgd
