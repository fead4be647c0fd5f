// updateAsync: one step on a libuv worker thread. The worker holds references to the engine and
// to every buffer the step reads or writes, so none can be collected while it runs; the engine
// refuses other calls until it completes.
#include "engine.h"

namespace addon {

class UpdateWorker : public Napi::AsyncWorker {
 public:
  UpdateWorker(Napi::Env env, Engine* engine, const Napi::CallbackInfo& info, const vsgd::Params& P,
               const vsgd::StepArgs& a)
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
    engine_->updated(a_.n);
    deferred_.Resolve(Engine::stats(Env(), stats_));
  }
  void OnError(const Napi::Error& e) override {
    engine_->busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Engine* engine_;
  vsgd::Params P_;
  vsgd::StepArgs a_;
  vsgd::StepStats stats_;
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> held_;
};

// updateAsync(...as update()...) -> Promise of the same array
Napi::Value Engine::UpdateAsync(const Napi::CallbackInfo& info) {
  vsgd::Params P;
  const vsgd::StepArgs a = step_args(info, P);
  auto* worker = new UpdateWorker(info.Env(), this, info, P, a);
  busy_ = true;
  worker->Queue();
  return worker->Promise();
}

}  // namespace addon
