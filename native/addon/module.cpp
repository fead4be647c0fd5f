// The addon's entry point: the Engine class and the module-level functions. Node-API glue only:
// no algorithm math here (native/core), no argument policy (lib/).
#include <napi.h>

#include "../core/names.h"
#include "args.h"
#include "engine.h"

void RegisterCheckpoint(Napi::Env env, Napi::Object exports);  // checkpoint.cpp

namespace addon {
namespace {

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

template <size_t N>
Napi::Array strings(Napi::Env env, const char* const (&names)[N]) {
  auto out = Napi::Array::New(env, N);
  for (size_t k = 0; k < N; ++k) out[(uint32_t)k] = Napi::String::New(env, names[k]);
  return out;
}

// names: { algorithms, sparsity, fields, variants }, indexed by the ids of vsgd_math.h (names.h)
Napi::Object Names(Napi::Env env) {
  auto o = Napi::Object::New(env);
  o.Set("algorithms", strings(env, vsgd::kAlgoNames));
  o.Set("sparsity", strings(env, vsgd::kSparsityNames));
  o.Set("fields", strings(env, vsgd::kFieldNames));
  o.Set("variants", strings(env, vsgd::kVariantNames));
  return o;
}

// layout(algo, sparsity) -> { g, v, h, vh, tau, eta, p, count }: slots in the state buffer (-1: none)
Napi::Value LayoutOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double algo = number(info[0], "algo"), sparsity = number(info[1], "sparsity");
  if (!(algo >= 0 && algo < vsgd::kAlgoCount && sparsity >= 0 && sparsity < vsgd::kSparsityCount))
    throw Napi::RangeError::New(env, "vsgd-fd addon: unknown algorithm or sparsity id");
  const auto L = vsgd::layout((int)algo, (int)sparsity);
  auto o = Napi::Object::New(env);
  for (int f = 0; f < vsgd::kFieldCount; ++f) o.Set(vsgd::kFieldNames[f], vsgd::slot(L, f));
  o.Set("count", L.count);
  return o;
}

// triad(a, b, c, s, threads): a = b + s*c, for the bandwidth probe of bench/
Napi::Value Triad(const Napi::CallbackInfo& info) {
  const size_t n = f32(info[0], "a").ElementLength();
  float* a = f32(info[0], "a", n).Data();
  const float* b = f32(info[1], "b", n).Data();
  const float* c = f32(info[2], "c", n).Data();
  vsgd::triad(a, b, c, (float)number(info[3], "s"), n, (int)number(info[4], "threads"));
  return info.Env().Undefined();
}

// scatterProbe(arrays: Float32Array[], out, indices): the random-update probe of bench/sparse.ts
Napi::Value ScatterProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "vsgd-fd addon: expected an array of Float32Arrays for arrays");
  float* out = f32(info[1], "out").Data();
  const size_t d = f32(info[1], "out").ElementLength();
  auto list = info[0].As<Napi::Array>();
  std::vector<float*> arrays;
  for (uint32_t k = 0; k < list.Length(); ++k) arrays.push_back(f32(list.Get(k), "arrays[k]", d).Data());
  auto idx = i32(info[2], "indices");
  for (size_t e = 0; e < idx.ElementLength(); ++e)
    if (idx[e] < 0 || (size_t)idx[e] >= d) throw Napi::RangeError::New(env, "vsgd-fd addon: an index is outside [0, d)");
  vsgd::scatter_probe(arrays.data(), (int)arrays.size(), out, idx.Data(), idx.ElementLength());
  return env.Undefined();
}

// hugePages(array, collapse): huge pages for a large array (pages.cpp); how many were advised
Napi::Value HugePages(const Napi::CallbackInfo& info) {
  auto a = f32(info[0], "array");
  const int pages = vsgd::advise_huge_pages(a.Data(), a.ByteLength(), info[1].ToBoolean().Value());
  return Napi::Number::New(info.Env(), pages);
}

// alignLike(array, like): the index in [0, 16) at which array lies where `like` does within a
// 64-byte line (the optimizer allocates its own arrays so: the dense pass reads them whole lines
// at a time from θ's line boundary on)
Napi::Value AlignLike(const Napi::CallbackInfo& info) {
  auto a = f32(info[0], "array");
  auto like = f32(info[1], "like");
  const uintptr_t bytes = ((uintptr_t)like.Data() - (uintptr_t)a.Data()) % 64;
  return Napi::Number::New(info.Env(), (double)(bytes / sizeof(float)));
}

// stateStride(d): the floats between two of the state's fields (vsgd::state_stride)
Napi::Value StateStride(const Napi::CallbackInfo& info) {
  const double d = number(info[0], "d");
  if (!(d >= 0 && d <= 9007199254740991.0 && d == (double)(size_t)d))
    throw Napi::RangeError::New(info.Env(), "stateStride: expected a count for d");
  return Napi::Number::New(info.Env(), (double)vsgd::state_stride((size_t)d));
}

// reweight(rows, n) -> { weights: Float64Array(n), direction: Float64Array(d), nEff }: eq. 5
Napi::Value Reweight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int n = count(info[1], "n");
  auto rows = f32(info[0], "rows");
  const size_t len = rows.ElementLength();
  if (len == 0 || len % (size_t)n != 0) throw Napi::RangeError::New(env, "vsgd-fd addon: expected n whole rows for rows");
  const size_t d = len / (size_t)n;
  auto w = Napi::Float64Array::New(env, (size_t)n);
  auto dir = Napi::Float64Array::New(env, d);
  const double neff = vsgd::reweight_rows(rows.Data(), n, d, w.Data(), dir.Data());
  auto out = Napi::Object::New(env);
  out.Set("weights", w);
  out.Set("direction", dir);
  out.Set("nEff", neff);
  return out;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Define(env));
  exports.Set("names", Names(env));
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("layout", Napi::Function::New(env, LayoutOf));
  exports.Set("triad", Napi::Function::New(env, Triad));
  exports.Set("scatterProbe", Napi::Function::New(env, ScatterProbe));
  exports.Set("hugePages", Napi::Function::New(env, HugePages));
  exports.Set("alignLike", Napi::Function::New(env, AlignLike));
  exports.Set("stateStride", Napi::Function::New(env, StateStride));
  exports.Set("reweight", Napi::Function::New(env, Reweight));
  RegisterCheckpoint(env, exports);
  return exports;
}

}  // namespace addon

namespace {
Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return addon::Init(env, exports); }
}  // namespace
NODE_API_MODULE(vsgd, InitModule)
