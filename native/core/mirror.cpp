// A device-resident backend without a device: the CPU backend run on private copies of theta and
// the state, kept between steps as a GPU keeps its own. It follows the CUDA backend's contract
// (backend.h): host theta is written back after every step(), host state only by read_state(),
// invalidate() makes the next call upload both again. Tests use it to exercise, on machines
// without a GPU, every path that must cope with a stale host state (docs/cuda.md).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend.h"

namespace vsgd {
namespace {

class Mirror final : public Backend {
 public:
  explicit Mirror(int threads) : cpu_(make_cpu_backend(threads)) {}

  const char* name() const override { return "mirror"; }
  bool device_resident() const override { return resident_; }
  bool fuses_probe() const override { return true; }

  StepStats step(const Params& P, const StepArgs& a) override {
    if (!a.theta) throw std::invalid_argument("step: theta is null");
    bind(P, a);
    StepArgs m = a;
    m.theta = theta_.data(), m.state = state_.data();
    const StepStats s = cpu_->step(P, m);
    std::copy(theta_.begin(), theta_.end(), a.theta);  // as the CUDA backend copies theta back
    return s;
  }

  void probe(const Params& P, const StepArgs& a, float* out) override {
    bind(P, a);
    StepArgs m = a;
    m.theta = theta_.data(), m.state = state_.data();
    cpu_->probe(P, m, out);
  }

  void read_state(float* host_state, size_t floats) override { read_back(state_, host_state, floats, "read_state"); }
  void read_theta(float* host_theta, size_t floats) override { read_back(theta_, host_theta, floats, "read_theta"); }

  void invalidate() override { resident_ = false; }

 private:
  void read_back(const std::vector<float>& from, float* host, size_t floats, const char* what) const {
    if (!resident_) return;
    if (floats != from.size())
      throw std::invalid_argument(std::string(what) + ": expected " + std::to_string(from.size()) + " floats but got " +
                                  std::to_string(floats));
    std::copy(from.begin(), from.end(), host);
  }

  // The CUDA backend's bind(): upload on the first call, after invalidate(), or for other buffers.
  void bind(const Params& P, const StepArgs& a) {
    const size_t count = (size_t)layout(P.algo, P.sparsity).count;
    const size_t ld = stride(a);
    const bool same = resident_ && a.d == theta_.size() && count * ld == state_.size() &&
                      (!a.theta || a.theta == host_theta_) && (!a.state || a.state == host_state_);
    if (same) return;
    resident_ = false;
    if (a.d > 0 && (!a.theta || (count > 0 && !a.state)))
      throw std::invalid_argument("the first step or probe needs the host theta and state to upload");
    theta_.assign(a.theta, a.theta + a.d);
    state_.assign(count * ld, 0.0f);
    if (count > 0) std::memcpy(state_.data(), a.state, count * ld * sizeof(float));
    host_theta_ = a.theta, host_state_ = a.state;
    resident_ = true;
  }

  std::unique_ptr<Backend> cpu_;
  std::vector<float> theta_, state_;
  const float* host_theta_ = nullptr;
  const float* host_state_ = nullptr;
  bool resident_ = false;
};

}  // namespace

std::unique_ptr<Backend> make_mirror_backend(int threads) { return std::unique_ptr<Backend>(new Mirror(threads)); }

}  // namespace vsgd
