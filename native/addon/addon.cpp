// Node-API glue: argument checks, typed-array access, object lifetime. No algorithm math here.
// The caller's theta and the JavaScript-allocated state buffer are held by references for the
// engine's lifetime; their data pointers are read afresh on every call, never cached.
#include <napi.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../core/backend.h"
#include "../core/sparse.h"
#include "../core/accumulate.h"

void RegisterCheckpoint(Napi::Env env, Napi::Object exports);  // native/addon/checkpoint.cpp

namespace {

// VSGD_FD_MIRROR=1: device 'cuda' runs on the mirror backend (mirror.cpp), so that tests can take
// the device-resident paths on machines without a GPU. Read at each use (tests set it at run time).
bool mirror_requested() {
  const char* v = std::getenv("VSGD_FD_MIRROR");
  return v && std::string(v) == "1";
}

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

Napi::Int32Array i32(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, std::string("Expected an Int32Array for ") + what + " but received " + describe(v));
  return v.As<Napi::Int32Array>();
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

class UpdateWorker;

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("update", &Engine::Update), InstanceMethod("updateAsync", &Engine::UpdateAsync),
                        InstanceMethod("probe", &Engine::Probe), InstanceMethod("readState", &Engine::ReadState),
                        InstanceMethod("updateSparse", &Engine::UpdateSparse),
                        InstanceMethod("probeSparse", &Engine::ProbeSparse),
                        InstanceMethod("accumulate", &Engine::Accumulate),
                        InstanceMethod("accumulateCurvature", &Engine::AccumulateCurvature),
                        InstanceMethod("accumulateProbe", &Engine::AccumulateProbe),
                        InstanceMethod("finish", &Engine::Finish),
                        InstanceMethod("pin", &Engine::Pin), InstanceMethod("unpin", &Engine::Unpin),
                        InstanceMethod("invalidate", &Engine::Invalidate), InstanceMethod("dispose", &Engine::Dispose),
                        InstanceAccessor("device", &Engine::Device, nullptr),
                        InstanceAccessor("fusesProbe", &Engine::FusesProbe, nullptr)});
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
    P_.reweight = cfg.Get("reweight").ToBoolean() ? 1 : 0;
    const int threads = (int)field(cfg, "threads");
    threads_ = threads;
    const std::string device = cfg.Get("device").ToString();
    if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a Float32Array for theta but received " + describe(info[1]));
    d_ = info[1].As<Napi::TypedArray>().ElementLength();
    auto theta = f32(env, info[1], "theta", d_);
    const size_t count = (size_t)vsgd::layout(P_.algo, P_.sparsity).count;
    auto state = f32(env, info[2], "state", count * d_);
    auto_ = cfg.Get("auto").ToBoolean();
    if (device == "cuda" && mirror_requested()) {
      backend_ = vsgd::make_mirror_backend(threads);
    } else if (device == "cuda") {
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
  friend class UpdateWorker;

  vsgd::StepArgs args(Napi::Env env) {
    if (!backend_) throw Napi::Error::New(env, "This optimizer was disposed");
    if (busy_) throw Napi::Error::New(env, "An asynchronous update of this optimizer is in flight");
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

  int rows(Napi::Env env, const Napi::Value& v) {
    const double n = number(env, v, "n");
    if (!(n >= 1 && n == std::floor(n) && n < 2147483648.0))
      throw Napi::RangeError::New(env, "Expected a positive integer for n but received " + describe(v));
    return (int)n;
  }

  static bool given(const Napi::Value& v) { return !v.IsNull() && !v.IsUndefined(); }

  // The arguments of update() and updateAsync(): (grads, n, extra | null, t, probeOut | null).
  vsgd::StepArgs step_args(const Napi::CallbackInfo& info, Params& P) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    a.n = rows(env, info[1]);
    a.grads = f32(env, info[0], "grads", (size_t)a.n * d_).Data();
    a.extra = given(info[2]) ? f32(env, info[2], "extra", (size_t)a.n * d_).Data() : nullptr;
    P = P_;
    vsgd::set_time(P, number(env, info[3], "t"));
    a.probe_out = given(info[4]) && backend_->fuses_probe() ? f32(env, info[4], "probeOut", d_).Data() : nullptr;
    return a;
  }

  static Napi::Value stats(Napi::Env env, const vsgd::StepStats& s) {
    auto out = Napi::Array::New(env, 4);
    out[0u] = Napi::Number::New(env, (double)s.touched);
    out[1u] = Napi::Number::New(env, (double)s.skipped);
    out[2u] = Napi::Number::New(env, (double)s.outliers);
    out[3u] = Napi::Number::New(env, (double)s.bootstrapping);
    return out;
  }

  // update(grads, n, extra | null, t, probeOut | null) -> [touched, skipped, outliers, bootstrapping]
  Napi::Value Update(const Napi::CallbackInfo& info) {
    Params P;
    const vsgd::StepArgs a = step_args(info, P);
    vsgd::StepStats s;
    try {
      s = backend_->step(P, a);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("step failed: ") + e.what());
    }
    return stats(info.Env(), s);
  }

  // CSR rows (offsets, indices, values[, shifted]) checked against d; n = offsets.length - 1
  vsgd::Csr csr(Napi::Env env, const Napi::Value& offsets, const Napi::Value& indices, const Napi::Value& values,
                const Napi::Value& shifted) {
    auto o = i32(env, offsets, "offsets");
    auto ix = i32(env, indices, "indices");
    if (o.ElementLength() < 2)
      throw Napi::RangeError::New(env, "Expected offsets to have at least 2 entries (n + 1 for n rows) but received " +
                                           std::to_string(o.ElementLength()));
    vsgd::Csr r{};
    r.offsets = o.Data();
    r.indices = ix.Data();
    r.nnz = ix.ElementLength();
    r.n = (int)(o.ElementLength() - 1);
    r.values = f32(env, values, "values", r.nnz).Data();
    r.shifted = given(shifted) ? f32(env, shifted, "shifted", r.nnz).Data() : nullptr;
    const std::string why = vsgd::check_csr(r, d_);
    if (!why.empty()) throw Napi::RangeError::New(env, "Invalid sparse rows: " + why);
    return r;
  }

  // Sparse rows and the accumulate form run on the CPU. An optimizer made with device 'auto'
  // moves there for good at the first such call, theta and state read back first; one made with
  // device 'cuda' refuses.
  void cpu_only(Napi::Env env, const char* what) {
    if (std::string(backend_->name()) == "cpu") return;
    if (!auto_)
      throw Napi::Error::New(env, std::string(what) + " run on the CPU only, and this optimizer was made with device 'cuda' (" +
                                      backend_->name() + "); make it with device 'cpu' or 'auto'");
    const vsgd::StepArgs a = args(env);
    try {
      backend_->read_theta(a.theta, d_);
      backend_->read_state(a.state, state_.Value().ElementLength());
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("moving the optimizer to the CPU failed: ") + e.what());
    }
    backend_ = vsgd::make_cpu_backend(threads_);  // the old backend unpins what it pinned
    pinned_.clear();
  }

  // updateSparse(offsets, indices, values, shifted | null, t, probeOut | null)
  //   -> [touched, skipped, outliers, finished bootstrapping]
  Napi::Value UpdateSparse(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    cpu_only(env, "sparse rows");
    const vsgd::Csr r = csr(env, info[0], info[1], info[2], info[3]);
    Params P = P_;
    vsgd::set_time(P, number(env, info[4], "t"));
    float* probe_out = given(info[5]) ? f32(env, info[5], "probeOut", d_).Data() : nullptr;
    return stats(env, sparse_.step(P, a.theta, a.state, d_, r, probe_out, threads_));
  }

  // probeSparse(offsets, indices, values, out): θ+δ for the coordinates the rows name
  Napi::Value ProbeSparse(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    cpu_only(env, "sparse rows");
    const vsgd::Csr r = csr(env, info[0], info[1], info[2], env.Null());
    sparse_.probe(P_, a.theta, a.state, d_, r, f32(env, info[3], "out", d_).Data());
    return env.Undefined();
  }

  // The accumulate form (docs/accumulate.md): rows a few at a time, O(d) memory, CPU only.
  // accumulate(grads, k, extra | null): k gradient rows, and their curvature when extra is given
  Napi::Value Accumulate(const Napi::CallbackInfo& info) {
    const AccRows r = acc_rows(info, false);
    if (!acc_.open()) acc_.begin(d_);
    acc_.add(P_, r.g, r.k, d_, threads_);
    if (r.e) acc_.add_curvature(P_, r.state, r.g, r.e, r.k, d_, threads_);
    return info.Env().Undefined();
  }
  // accumulateCurvature(grads, k, extra): curvature of k rows already accumulated
  Napi::Value AccumulateCurvature(const Napi::CallbackInfo& info) {
    const AccRows r = acc_rows(info, true);
    if (!acc_.open() || acc_.curvature_rows() + r.k > acc_.rows())
      throw Napi::RangeError::New(info.Env(), "accumulateCurvature: more curvature rows than gradient rows accumulated");
    acc_.add_curvature(P_, r.state, r.g, r.e, r.k, d_, threads_);
    return info.Env().Undefined();
  }
  // The arguments of both: (grads, k, extra), extra optional unless `need_extra`.
  struct AccRows {
    float* state;
    int k;
    const float *g, *e;
  };
  AccRows acc_rows(const Napi::CallbackInfo& info, bool need_extra) {
    Napi::Env env = info.Env();
    const vsgd::StepArgs a = args(env);
    cpu_only(env, "the accumulate form");
    const int k = rows(env, info[1]);
    const float* g = f32(env, info[0], "grads", (size_t)k * d_).Data();
    const float* e = need_extra || given(info[2]) ? f32(env, info[2], "extra", (size_t)k * d_).Data() : nullptr;
    return AccRows{a.state, k, g, e};
  }
  // accumulateProbe(out): θ+δ from the sums so far
  Napi::Value AccumulateProbe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    if (!acc_.open()) acc_.begin(d_);
    acc_.probe(P_, a.theta, a.state, d_, f32(env, info[0], "out", d_).Data(), threads_);
    return env.Undefined();
  }
  // finish(t, probeOut | null) -> stats, as update()
  Napi::Value Finish(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    if (!acc_.open() || acc_.rows() == 0) throw Napi::Error::New(env, "finish: no rows were accumulated");
    Params P = P_;
    vsgd::set_time(P, number(env, info[0], "t"));
    float* probe_out = given(info[1]) ? f32(env, info[1], "probeOut", d_).Data() : nullptr;
    return stats(env, acc_.finish(P, a.theta, a.state, d_, probe_out, threads_));
  }

  // updateAsync(...same...) -> Promise of the same array; the pass runs on a worker thread
  Napi::Value UpdateAsync(const Napi::CallbackInfo& info);

  // probe(grads | null, n, out, patch?): patch = out holds the point the last step wrote (patch_probe)
  Napi::Value Probe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    vsgd::StepArgs a = args(env);
    a.n = 0;
    a.grads = nullptr;
    if (given(info[0])) {
      a.n = rows(env, info[1]);
      a.grads = f32(env, info[0], "grads", (size_t)a.n * d_).Data();
    }
    float* out = f32(env, info[2], "out", d_).Data();
    try {
      if (info[3].ToBoolean()) backend_->patch_probe(P_, a, out);
      else backend_->probe(P_, a, out);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("probe failed: ") + e.what());
    }
    return env.Undefined();
  }

  // readState(): a device-resident backend copies its state into the JavaScript buffer
  Napi::Value ReadState(const Napi::CallbackInfo& info) {
    vsgd::StepArgs a = args(info.Env());
    try {
      backend_->read_state(a.state, state_.Value().ElementLength());
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("reading the state back failed: ") + e.what());
    }
    return info.Env().Undefined();
  }

  // invalidate(): the caller wrote theta or state; a device-resident backend uploads them again
  Napi::Value Invalidate(const Napi::CallbackInfo& info) {
    args(info.Env());
    backend_->invalidate();
    return info.Env().Undefined();
  }

  // pin(buffer): page-locks one of the optimizer's own row buffers on a GPU backend (kept alive
  // by a reference until unpin or dispose); false where pinning gains nothing
  Napi::Value Pin(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    args(env);
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a Float32Array for buffer but received " + describe(info[0]));
    auto b = f32(env, info[0], "buffer", info[0].As<Napi::TypedArray>().ElementLength());
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

  Napi::Value Unpin(const Napi::CallbackInfo& info) {
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

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "An asynchronous update of this optimizer is in flight");
    if (backend_ && backend_->device_resident() && !state_.IsEmpty()) {
      try {  // leave the final state in the JavaScript buffer
        backend_->read_state(state_.Value().Data(), state_.Value().ElementLength());
      } catch (const std::exception&) {
      }
    }
    backend_.reset();  // unregisters what it pinned
    pinned_.clear();
    theta_.Reset();
    state_.Reset();
    return info.Env().Undefined();
  }

  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_ ? backend_->name() : "disposed");
  }

  Napi::Value FusesProbe(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), backend_ && backend_->fuses_probe());
  }

  Params P_{};
  size_t d_ = 0;
  int threads_ = 0;
  bool auto_ = false;  // made with device 'auto': may move to the CPU (cpu_only)
  bool busy_ = false;
  vsgd::SparseStepper sparse_;
  vsgd::Accumulator acc_;
  std::vector<Napi::Reference<Napi::Float32Array>> pinned_;  // an UpdateWorker holds the buffers
  std::unique_ptr<Backend> backend_;
  Napi::Reference<Napi::Float32Array> theta_, state_;
};

// Runs one step on a libuv worker thread. It holds references to the engine and to every
// buffer the step reads or writes, so none can be collected while it runs; the engine refuses
// other calls until it completes.
class UpdateWorker : public Napi::AsyncWorker {
 public:
  UpdateWorker(Napi::Env env, Engine* engine, const Napi::CallbackInfo& info, const Params& P, const vsgd::StepArgs& a)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), engine_(engine), P_(P), a_(a) {
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
    for (size_t k = 0; k < 5; ++k) {
      if (info[k].IsObject()) held_.push_back(Napi::Persistent(info[k].As<Napi::Object>()));
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      stats_ = engine_->backend_->step(P_, a_);
    } catch (const std::exception& e) {
      SetError(std::string("step failed: ") + e.what());
    }
  }
  void OnOK() override {
    engine_->busy_ = false;
    deferred_.Resolve(Engine::stats(Env(), stats_));
  }
  void OnError(const Napi::Error& e) override {
    engine_->busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Engine* engine_;
  Params P_;
  vsgd::StepArgs a_;
  vsgd::StepStats stats_;
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> held_;
};

Napi::Value Engine::UpdateAsync(const Napi::CallbackInfo& info) {
  Params P;
  const vsgd::StepArgs a = step_args(info, P);
  auto* worker = new UpdateWorker(info.Env(), this, info, P, a);
  busy_ = true;
  worker->Queue();
  return worker->Promise();
}

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
  if (mirror_requested()) {  // tests: the CPU stands in for the device
    cuda.Set("available", true);
    cuda.Set("device", "mirror: the CPU standing in for a device (VSGD_FD_MIRROR=1)");
  }
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

// reweight(rows, n) -> { weights: Float64Array(n), direction: Float64Array(d), nEff }: eq. 5
Napi::Value Reweight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double n = number(env, info[1], "n");
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "Expected a Float32Array for rows but received " + describe(info[0]));
  const size_t len = info[0].As<Napi::TypedArray>().ElementLength();
  if (!(n >= 1 && n == std::floor(n) && len % (size_t)n == 0))
    throw Napi::RangeError::New(env, "Expected rows to hold n whole rows but received length " + std::to_string(len));
  const size_t d = len / (size_t)n;
  auto rows = f32(env, info[0], "rows", len);
  auto w = Napi::Float64Array::New(env, (size_t)n);
  auto dir = Napi::Float64Array::New(env, d);
  const double neff = vsgd::reweight_rows(rows.Data(), (int)n, d, w.Data(), dir.Data());
  auto out = Napi::Object::New(env);
  out.Set("weights", w);
  out.Set("direction", dir);
  out.Set("nEff", neff);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Define(env));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("layout", Napi::Function::New(env, LayoutOf));
  exports.Set("triad", Napi::Function::New(env, Triad));
  exports.Set("reweight", Napi::Function::New(env, Reweight));
  RegisterCheckpoint(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(vsgd, Init)
