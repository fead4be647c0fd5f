// Work on a libuv worker thread whose result settles a promise. The worker holds references to
// the object called and to every object argument of the call, so that no buffer the work reads or
// writes can be collected while it runs. Shared by vsgd.node and vsgd_mpi.node.
#pragma once
#include <napi.h>

#include <vector>

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(info.Env()), deferred_(Napi::Promise::Deferred::New(info.Env())) {
    self_ = Napi::Persistent(info.This().As<Napi::Object>());
    for (size_t k = 0; k < info.Length(); ++k)
      if (info[k].IsObject()) held_.push_back(Napi::Persistent(info[k].As<Napi::Object>()));
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  // on the main thread, after Execute() succeeded: what the promise resolves with
  virtual Napi::Value Result(Napi::Env env) = 0;
  // on the main thread, before the promise settles either way
  virtual void Settled() {}
  void OnOK() override {
    Settled();
    deferred_.Resolve(Result(Env()));
  }
  void OnError(const Napi::Error& e) override {
    Settled();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
  std::vector<Napi::ObjectReference> held_;
};
