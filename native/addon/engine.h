// One optimizer's native side: the backend, the caller's theta and the state buffer JavaScript
// allocated (held by references for the engine's lifetime; their data pointers are read afresh on
// every call, never cached). lib/optimizers decides everything else, device policy included.
//   engine.cpp  construction, dense steps, probe, state and device residency
//   rows.cpp    the CPU-only row forms: sparse rows and the accumulate form
//   phases.cpp  the phases of a data-parallel step apart (comm 'mpi')
//   worker.cpp  updateAsync and the phases' async forms on a libuv worker thread
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "../core/accumulate.h"
#include "../core/backend.h"
#include "../core/sparse.h"
#include "../core/wire.h"

namespace addon {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Engine(config, theta, state)
  explicit Engine(const Napi::CallbackInfo& info);

 private:
  friend class EngineWorker;

  // theta, state and d of a call, after the guards every call shares
  vsgd::StepArgs args(Napi::Env env);
  // the arguments of update() and updateAsync(): (grads, n, extra | null, t, probeOut | null)
  vsgd::StepArgs step_args(const Napi::CallbackInfo& info, vsgd::Params& P);
  static Napi::Value stats(Napi::Env env, const vsgd::StepStats& s);
  // an update of n rows changed the state: a read of it derives eta again (vsgd::derive_eta)
  void updated(int n) { last_rows_ = n, eta_stale_ = true; }
  // the backend's state into `state` (device-resident backends copy), eta derived there once per update
  void read_state(float* state);
  // the row forms below run on the CPU backend only; lib/ moves the engine there first
  void assert_cpu(Napi::Env env, const char* what);
  vsgd::Csr csr(Napi::Env env, const Napi::CallbackInfo& info, bool with_extra);
  struct AccRows {
    int k;
    const float *g, *e;
  };
  AccRows acc_rows(const Napi::CallbackInfo& info, bool need_extra);

  // engine.cpp
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Probe(const Napi::CallbackInfo& info);
  Napi::Value ReadState(const Napi::CallbackInfo& info);
  Napi::Value Invalidate(const Napi::CallbackInfo& info);
  Napi::Value MoveToCpu(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value FusesProbe(const Napi::CallbackInfo& info);
  // rows.cpp
  Napi::Value UpdateSparse(const Napi::CallbackInfo& info);
  Napi::Value ProbeSparse(const Napi::CallbackInfo& info);
  Napi::Value Accumulate(const Napi::CallbackInfo& info);
  Napi::Value AccumulateCurvature(const Napi::CallbackInfo& info);
  Napi::Value AccumulateProbe(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  // phases.cpp
  vsgd::WireBuf wire(Napi::Env env, const Napi::Value& buf, size_t len, bool curv, bool probe, int rows, size_t* floats);
  void parts(const Napi::CallbackInfo& info, size_t k, const Napi::Value& buf, size_t floats, vsgd::WireBuf* w);
  const int32_t* coords(Napi::Env env, const Napi::Value& v, size_t* count);
  struct SumsCall {
    vsgd::StepArgs a;
    vsgd::WireBuf w;
    size_t floats;
  };
  SumsCall sums_call(const Napi::CallbackInfo& info);
  struct ApplyCall {
    vsgd::StepArgs a;
    vsgd::Params P;
    const int32_t* at;
    size_t count;
    vsgd::WireBuf w;
    int rows;
    bool curv;
  };
  ApplyCall apply_call(const Napi::CallbackInfo& info);
  vsgd::StepStats apply(const ApplyCall& c);
  Napi::Value Sums(const Napi::CallbackInfo& info);
  Napi::Value SumsAsync(const Napi::CallbackInfo& info);
  Napi::Value SparseSums(const Napi::CallbackInfo& info);
  Napi::Value ApplySums(const Napi::CallbackInfo& info);
  Napi::Value ApplySumsAsync(const Napi::CallbackInfo& info);
  Napi::Value ProbeSums(const Napi::CallbackInfo& info);
  // worker.cpp: `work` on a worker thread, then a promise of result(); the engine is busy meanwhile
  Napi::Value queue(const Napi::CallbackInfo& info, std::function<void()> work,
                    std::function<Napi::Value(Napi::Env)> result);
  Napi::Value UpdateAsync(const Napi::CallbackInfo& info);

  vsgd::Params P_{};
  size_t d_ = 0;
  size_t ld_ = 0;  // the state's field stride: vsgd::state_stride(d_)
  int threads_ = 0;
  bool busy_ = false;
  int last_rows_ = 0;       // rows of the last update
  bool eta_stale_ = false;  // an update came since eta was last derived
  vsgd::SparseStepper sparse_;
  vsgd::Accumulator acc_;
  std::vector<Napi::Reference<Napi::Float32Array>> pinned_;
  std::unique_ptr<vsgd::Backend> backend_;
  Napi::Reference<Napi::Float32Array> theta_, state_;
};

}  // namespace addon
