// Node-API glue: argument checks, typed-array access, object lifetime. No algorithm math here.
// The caller's theta and the JavaScript-allocated state buffer are held by references for the
// engine's lifetime; their data pointers are read afresh on every call, never cached.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>

#include "../core/backend.h"

namespace {

using vsgd::Backend;
using vsgd::Params;

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    auto a = v.As<Napi::TypedArray>();
    return "a typed array of type " + std::to_string((int)a.TypedArrayType()) + " and length " +
           std::to_string(a.ElementLength());
  }
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNumber()) return "the number " + std::to_string(v.As<Napi::Number>().DoubleValue());
  return "a value of another type";
}

Napi::Float32Array f32(const Napi::Env& env, const Napi::Value& v, const char* what, size_t len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, std::string("Expected a Float32Array for ") + what + " but received " + describe(v));
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != len)
    throw Napi::RangeError::New(env, std::string("Expected ") + what + " to have length " + std::to_string(len) +
                                         " but received length " + std::to_string(a.ElementLength()));
  return a;
}

double number(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("Expected a number for ") + what + " but received " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

double field(const Napi::Object& o, const char* key) {
  return number(o.Env(), o.Get(key), key);
}

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("update", &Engine::Update), InstanceMethod("probe", &Engine::Probe),
                        InstanceMethod("dispose", &Engine::Dispose), InstanceAccessor("device", &Engine::Device, nullptr)});
  }

  // new Engine(config, theta, state)
  explicit Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Expected an object for config but received " + describe(info[0]));
    auto cfg = info[0].As<Napi::Object>();
    P_ = Params{};
    P_.algo = (int)field(cfg, "algo");
    P_.sparsity = (int)field(cfg, "sparsity");
    if (P_.algo < vsgd::kVsgdFd || P_.algo > vsgd::kAdam) throw Napi::RangeError::New(env, "Unknown algorithm id");
    if (P_.sparsity < vsgd::kDense || P_.sparsity > vsgd::kGlobal) throw Napi::RangeError::New(env, "Unknown sparsity id");
    P_.bootstrap = (float)field(cfg, "bootstrap");
    P_.slow_start = (float)field(cfg, "slowStart");
    P_.eps = (float)field(cfg, "epsilon");
    P_.outlier_sigmas = (float)field(cfg, "outlierSigmas");
    P_.lr0 = (float)field(cfg, "lr");
    P_.decay = (float)field(cfg, "decay");
    P_.beta1 = (float)field(cfg, "beta1");
    P_.beta2 = (float)field(cfg, "beta2");
    const int threads = (int)field(cfg, "threads");
    const std::string device = cfg.Get("device").ToString();
    if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a Float32Array for theta but received " + describe(info[1]));
    d_ = info[1].As<Napi::TypedArray>().ElementLength();
    auto theta = f32(env, info[1], "theta", d_);
    const size_t count = (size_t)vsgd::layout(P_.algo, P_.sparsity).count;
    auto state = f32(env, info[2], "state", count * d_);
    if (device == "cuda") {
      std::string why;
      backend_ = vsgd::make_cuda_backend(why);
      if (!backend_) throw Napi::Error::New(env, "device 'cuda' is not available: " + why);
    } else {
      backend_ = vsgd::make_cpu_backend(threads);
    }
    theta_ = Napi::Persistent(theta);
    state_ = Napi::Persistent(state);
  }

 private:
  vsgd::StepArgs args(Napi::Env env) {
    if (!backend_) throw Napi::Error::New(env, "This optimizer was disposed");
    auto theta = theta_.Value();
    if (theta.ElementLength() != d_)
      throw Napi::Error::New(env, "theta was detached or transferred: expected length " + std::to_string(d_) +
                                      " but it now has length " + std::to_string(theta.ElementLength()));
    auto state = state_.Value();
    vsgd::StepArgs a{};
    a.theta = theta.Data();
    a.state = state.Data();
    a.d = d_;
    return a;
  }

  // update(grads, n, extra | null, t) -> [touched, skipped, outliers, bootstrapping]
  Napi::Value Update(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    const double n = number(env, info[1], "n");
    if (!(n >= 1 && n == std::floor(n) && n < 2147483648.0))
      throw Napi::RangeError::New(env, "Expected a positive integer for n but received " + describe(info[1]));
    a.n = (int)n;
    a.grads = f32(env, info[0], "grads", (size_t)a.n * d_).Data();
    a.extra = nullptr;
    if (!info[2].IsNull() && !info[2].IsUndefined()) a.extra = f32(env, info[2], "extra", (size_t)a.n * d_).Data();
    Params P = P_;
    vsgd::set_time(P, number(env, info[3], "t"));
    vsgd::StepStats s;
    try {
      s = backend_->step(P, a);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("step failed: ") + e.what());
    }
    auto out = Napi::Array::New(env, 4);
    out[0u] = Napi::Number::New(env, (double)s.touched);
    out[1u] = Napi::Number::New(env, (double)s.skipped);
    out[2u] = Napi::Number::New(env, (double)s.outliers);
    out[3u] = Napi::Number::New(env, (double)s.bootstrapping);
    return out;
  }

  // probe(grads | null, n, out)
  Napi::Value Probe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    a.n = 0;
    a.grads = nullptr;
    if (!info[0].IsNull() && !info[0].IsUndefined()) {
      const double n = number(env, info[1], "n");
      if (!(n >= 1 && n == std::floor(n) && n < 2147483648.0))
        throw Napi::RangeError::New(env, "Expected a positive integer for n but received " + describe(info[1]));
      a.n = (int)n;
      a.grads = f32(env, info[0], "grads", (size_t)a.n * d_).Data();
    }
    float* out = f32(env, info[2], "out", d_).Data();
    try {
      backend_->probe(P_, a, out);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("probe failed: ") + e.what());
    }
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    backend_.reset();
    theta_.Reset();
    state_.Reset();
    return info.Env().Undefined();
  }

  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_ ? backend_->name() : "disposed");
  }

  Params P_{};
  size_t d_ = 0;
  std::unique_ptr<Backend> backend_;
  Napi::Reference<Napi::Float32Array> theta_, state_;
};

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto cpu = Napi::Object::New(env);
#ifdef _OPENMP
  cpu.Set("openmp", true);
#else
  cpu.Set("openmp", false);
#endif
  cpu.Set("available", true);
  cpu.Set("isa", vsgd::cpu_isa());
  auto ci = vsgd::cuda_info();
  auto cuda = Napi::Object::New(env);
  cuda.Set("compiled", ci.compiled);
  cuda.Set("available", ci.available);
  if (!ci.reason.empty()) cuda.Set("reason", ci.reason);
  if (!ci.device.empty()) cuda.Set("device", ci.device);
  auto out = Napi::Object::New(env);
  out.Set("cpu", cpu);
  out.Set("cuda", cuda);
  return out;
}

// layout(algo, sparsity) -> { g, v, h, vh, tau, eta, p, count }: slots in the state buffer
Napi::Value LayoutOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto L = vsgd::layout((int)number(env, info[0], "algo"), (int)number(env, info[1], "sparsity"));
  auto o = Napi::Object::New(env);
  o.Set("g", L.g);
  o.Set("v", L.v);
  o.Set("h", L.h);
  o.Set("vh", L.vh);
  o.Set("tau", L.tau);
  o.Set("eta", L.eta);
  o.Set("p", L.p);
  o.Set("count", L.count);
  return o;
}

// triad(a, b, c, s, threads): a = b + s*c, for the bandwidth probe of bench/
Napi::Value Triad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a Float32Array for a but received " + describe(info[0]));
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  float* a = f32(env, info[0], "a", n).Data();
  const float* b = f32(env, info[1], "b", n).Data();
  const float* c = f32(env, info[2], "c", n).Data();
  vsgd::triad(a, b, c, (float)number(env, info[3], "s"), n, (int)number(env, info[4], "threads"));
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Define(env));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("layout", Napi::Function::New(env, LayoutOf));
  exports.Set("triad", Napi::Function::New(env, Triad));
  return exports;
}

}  // namespace

NODE_API_MODULE(vsgd, Init)
