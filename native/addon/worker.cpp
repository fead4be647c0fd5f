// One step, or one phase of a data-parallel step (phases.cpp), on a libuv worker thread. The worker
// holds references to the engine and to every buffer of the call (PromiseWorker), so none can be
// collected while it runs; the engine refuses other calls until the promise settles.
#include <memory>

#include "../core/wire.h"
#include "engine.h"
#include "promise_worker.h"

namespace addon {

class EngineWorker : public PromiseWorker {
 public:
  EngineWorker(const Napi::CallbackInfo& info, Engine* engine, std::function<void()> work,
               std::function<Napi::Value(Napi::Env)> result)
      : PromiseWorker(info), engine_(engine), work_(std::move(work)), result_(std::move(result)) {}

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(std::string("step failed: ") + e.what());
    }
  }
  Napi::Value Result(Napi::Env env) override { return result_(env); }
  void Settled() override { engine_->busy_ = false; }

 private:
  Engine* engine_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
};

Napi::Value Engine::queue(const Napi::CallbackInfo& info, std::function<void()> work,
                          std::function<Napi::Value(Napi::Env)> result) {
  auto* worker = new EngineWorker(info, this, std::move(work), std::move(result));
  busy_ = true;
  worker->Queue();
  return worker->Promise();
}

// updateAsync(...as update()...) -> Promise of the same array
Napi::Value Engine::UpdateAsync(const Napi::CallbackInfo& info) {
  vsgd::Params P;
  const vsgd::StepArgs a = step_args(info, P);
  auto out = std::make_shared<vsgd::StepStats>();
  return queue(info, [this, P, a, out] { *out = backend_->step(P, a); }, [this, n = a.n, out](Napi::Env env) {
    updated(n);
    return stats(env, *out);
  });
}

}  // namespace addon
