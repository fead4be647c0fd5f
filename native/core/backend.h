// The interface the addon talks to: one fused pass per step, on the CPU or a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "math.h"

namespace vsgd {

struct StepStats {
  int64_t touched = 0, skipped = 0, outliers = 0, bootstrapping = 0;
};

// One step's inputs. theta and state are the caller's host buffers (d and count*d floats);
// grads and extra are n rows of d floats (extra may be null: no curvature this step).
struct StepArgs {
  float* theta;
  float* state;
  size_t d;
  const float* grads;
  const float* extra;
  int n;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // The fused statistics-and-update pass; writes theta and state in place.
  virtual StepStats step(const Params& P, const StepArgs& a) = 0;
  // out[i] = theta[i] + delta_i; grads may be null (then n is ignored).
  virtual void probe(const Params& P, const StepArgs& a, float* out) = 0;
};

std::unique_ptr<Backend> make_cpu_backend(int threads);

// CUDA: null with `why` filled when not compiled in or no usable device.
std::unique_ptr<Backend> make_cuda_backend(std::string& why);
struct CudaInfo {
  bool compiled;
  bool available;
  std::string reason;
  std::string device;
};
CudaInfo cuda_info();

}  // namespace vsgd
