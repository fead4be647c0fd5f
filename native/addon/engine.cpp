#include <cstring>
#include <string>

#include "args.h"
#include "engine.h"

namespace addon {

using vsgd::Params;

Napi::Function Engine::Define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod("update", &Engine::Update), InstanceMethod("updateAsync", &Engine::UpdateAsync),
                      InstanceMethod("probe", &Engine::Probe), InstanceMethod("readState", &Engine::ReadState),
                      InstanceMethod("updateSparse", &Engine::UpdateSparse),
                      InstanceMethod("probeSparse", &Engine::ProbeSparse),
                      InstanceMethod("accumulate", &Engine::Accumulate),
                      InstanceMethod("accumulateCurvature", &Engine::AccumulateCurvature),
                      InstanceMethod("accumulateProbe", &Engine::AccumulateProbe),
                      InstanceMethod("finish", &Engine::Finish), InstanceMethod("moveToCpu", &Engine::MoveToCpu),
                      InstanceMethod("sums", &Engine::Sums), InstanceMethod("sumsAsync", &Engine::SumsAsync),
                      InstanceMethod("sparseSums", &Engine::SparseSums), InstanceMethod("applySums", &Engine::ApplySums),
                      InstanceMethod("applySumsAsync", &Engine::ApplySumsAsync),
                      InstanceMethod("probeSums", &Engine::ProbeSums),
                      InstanceMethod("pin", &Engine::Pin), InstanceMethod("unpin", &Engine::Unpin),
                      InstanceMethod("invalidate", &Engine::Invalidate), InstanceMethod("dispose", &Engine::Dispose),
                      InstanceAccessor("device", &Engine::Device, nullptr),
                      InstanceAccessor("fusesProbe", &Engine::FusesProbe, nullptr)});
}

// config: { algo, sparsity, bootstrap, slowStart, epsilon, outlierSigmas, lr, decay, beta1, beta2,
// reweight, threads, device: 'cpu' | 'cuda' | 'mirror' }, values as lib/options.ts resolved them
Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "vsgd-fd addon: expected an object for config");
  auto cfg = info[0].As<Napi::Object>();
  P_ = Params{};
  P_.algo = int_field(cfg, "algo", vsgd::kVsgdFd, vsgd::kAdam);
  P_.sparsity = int_field(cfg, "sparsity", vsgd::kDense, vsgd::kGlobal);
  P_.bootstrap = float_field(cfg, "bootstrap");
  P_.slow_start = float_field(cfg, "slowStart");
  P_.eps = float_field(cfg, "epsilon");
  P_.outlier_sigmas = float_field(cfg, "outlierSigmas");
  P_.lr0 = float_field(cfg, "lr");
  P_.decay = float_field(cfg, "decay");
  P_.beta1 = float_field(cfg, "beta1");
  P_.beta2 = float_field(cfg, "beta2");
  P_.reweight = cfg.Get("reweight").ToBoolean() ? 1 : 0;
  P_.variant = int_field(cfg, "variant", vsgd::kPaper, vsgd::kSigned);
  threads_ = int_field(cfg, "threads", 0, 1 << 16);
  d_ = f32(info[1], "theta").ElementLength();
  auto theta = f32(info[1], "theta", d_);
  ld_ = vsgd::state_stride(d_);
  auto state = f32(info[2], "state", (size_t)vsgd::layout(P_.algo, P_.sparsity).count * ld_);
  const std::string device = cfg.Get("device").ToString();
  if (device == "mirror") {
    backend_ = vsgd::make_mirror_backend(threads_);
  } else if (device == "cuda") {
    std::string why;
    backend_ = vsgd::make_cuda_backend(why);
    if (!backend_) throw Napi::Error::New(env, "device 'cuda' is not available: " + why);
  } else if (device == "cpu") {
    backend_ = vsgd::make_cpu_backend(threads_);
  } else {
    throw Napi::RangeError::New(env, "vsgd-fd addon: expected 'cpu', 'cuda' or 'mirror' for config.device");
  }
  theta_ = Napi::Persistent(theta);
  state_ = Napi::Persistent(state);
}

vsgd::StepArgs Engine::args(Napi::Env env) {
  if (!backend_) throw Napi::Error::New(env, "This optimizer was disposed");
  if (busy_) throw Napi::Error::New(env, "An asynchronous update of this optimizer is in flight");
  auto theta = theta_.Value();
  if (theta.ElementLength() != d_)
    throw Napi::Error::New(env, "theta was detached or transferred: expected length " + std::to_string(d_) +
                                    " but it now has length " + std::to_string(theta.ElementLength()));
  vsgd::StepArgs a{};
  a.theta = theta.Data();
  a.state = state_.Value().Data();
  a.d = d_;
  a.ld = ld_;
  return a;
}

vsgd::StepArgs Engine::step_args(const Napi::CallbackInfo& info, Params& P) {
  vsgd::StepArgs a = args(info.Env());
  a.n = count(info[1], "n");
  a.grads = f32(info[0], "grads", (size_t)a.n * d_).Data();
  a.extra = given(info[2]) ? f32(info[2], "extra", (size_t)a.n * d_).Data() : nullptr;
  P = P_;
  vsgd::set_time(P, number(info[3], "t"));
  a.probe_out = given(info[4]) && backend_->fuses_probe() ? f32(info[4], "probeOut", d_).Data() : nullptr;
  return a;
}

Napi::Value Engine::stats(Napi::Env env, const vsgd::StepStats& s) {
  auto out = Napi::Array::New(env, 4);
  out[0u] = Napi::Number::New(env, (double)s.touched);
  out[1u] = Napi::Number::New(env, (double)s.skipped);
  out[2u] = Napi::Number::New(env, (double)s.outliers);
  out[3u] = Napi::Number::New(env, (double)s.bootstrapping);
  return out;
}

// update(grads, n, extra | null, t, probeOut | null) -> [touched, skipped, outliers, bootstrapping]
Napi::Value Engine::Update(const Napi::CallbackInfo& info) {
  Params P;
  const vsgd::StepArgs a = step_args(info, P);
  vsgd::StepStats s;
  try {
    s = backend_->step(P, a);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("step failed: ") + e.what());
  }
  updated(a.n);
  return stats(info.Env(), s);
}

// probe(grads | null, n, out, patch?): patch = out holds the point the last step wrote (patch_probe)
Napi::Value Engine::Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  a.n = 0;
  a.grads = nullptr;
  if (given(info[0])) {
    a.n = count(info[1], "n");
    a.grads = f32(info[0], "grads", (size_t)a.n * d_).Data();
  }
  float* out = f32(info[2], "out", d_).Data();
  try {
    if (info[3].ToBoolean()) backend_->patch_probe(P_, a, out);
    else backend_->probe(P_, a, out);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("probe failed: ") + e.what());
  }
  return env.Undefined();
}

// readState(): a device-resident backend copies its state into the JavaScript buffer, and eta is
// derived there where the passes do not store it (once per update)
Napi::Value Engine::ReadState(const Napi::CallbackInfo& info) {
  vsgd::StepArgs a = args(info.Env());
  try {
    read_state(a.state);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("reading the state back failed: ") + e.what());
  }
  return info.Env().Undefined();
}

void Engine::read_state(float* state) {
  backend_->read_state(state, state_.Value().ElementLength());
  if (eta_stale_) vsgd::derive_eta(P_, last_rows_, state, d_, ld_, threads_);
  eta_stale_ = false;
}

// invalidate(): the caller wrote theta or state (or put them back as they were); a
// device-resident backend uploads them again, and eta is read as written until the next update
Napi::Value Engine::Invalidate(const Napi::CallbackInfo& info) {
  args(info.Env());
  backend_->invalidate();
  eta_stale_ = false;
  return info.Env().Undefined();
}

// moveToCpu(): theta and state read back from the device, then the CPU backend for good
// (lib/device.ts decides when)
Napi::Value Engine::MoveToCpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const vsgd::StepArgs a = args(env);
  if (std::strcmp(backend_->name(), "cpu") == 0) return env.Undefined();
  try {
    backend_->read_theta(a.theta, d_);
    backend_->read_state(a.state, state_.Value().ElementLength());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("moving the optimizer to the CPU failed: ") + e.what());
  }
  backend_ = vsgd::make_cpu_backend(threads_);  // the old backend unpins what it pinned
  pinned_.clear();
  return env.Undefined();
}

void Engine::assert_cpu(Napi::Env env, const char* what) {
  if (std::strcmp(backend_->name(), "cpu") != 0)
    throw Napi::Error::New(env, std::string("vsgd-fd addon: ") + what + " need the CPU backend, not " + backend_->name());
}

// pin(buffer): page-locks one of the optimizer's own row buffers on a GPU backend (kept alive by
// a reference until unpin or dispose); false where pinning gains nothing
Napi::Value Engine::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  args(env);
  auto b = f32(info[0], "buffer");
  if (b.ElementLength() == 0) return Napi::Boolean::New(env, false);
  bool done = false;
  try {
    done = backend_->pin(b.Data(), b.ByteLength());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("pinning the row buffer failed: ") + e.what());
  }
  if (done) pinned_.push_back(Napi::Persistent(b));
  return Napi::Boolean::New(env, done);
}

Napi::Value Engine::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  args(env);
  for (size_t k = 0; k < pinned_.size(); ++k) {
    if (pinned_[k].Value() != info[0]) continue;
    backend_->unpin(pinned_[k].Value().Data());
    pinned_.erase(pinned_.begin() + (long)k);
    break;
  }
  return env.Undefined();
}

Napi::Value Engine::Dispose(const Napi::CallbackInfo& info) {
  if (busy_) throw Napi::Error::New(info.Env(), "An asynchronous update of this optimizer is in flight");
  if (backend_ && !state_.IsEmpty()) {
    try {  // leave the final state in the JavaScript buffer
      read_state(state_.Value().Data());
    } catch (const std::exception&) {
    }
  }
  backend_.reset();  // unregisters what it pinned
  pinned_.clear();
  theta_.Reset();
  state_.Reset();
  return info.Env().Undefined();
}

Napi::Value Engine::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), backend_ ? backend_->name() : "disposed");
}

Napi::Value Engine::FusesProbe(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), backend_ && backend_->fuses_probe());
}

}  // namespace addon
