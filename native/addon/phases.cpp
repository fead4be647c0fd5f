// The phases of a data-parallel step apart (lib/optimizers/distributed.ts; native/core/wire.h),
// on the CPU backend: (a) this process's sums into a wire buffer, which lib/ adds up over the
// processes, then (c) the update, or the probe point, from the reduced buffer. `rows` is the rows
// of every process together; `coords` null means all d coordinates, else the sorted union of the
// processes' sparse indices.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "../core/wire.h"
#include "args.h"
#include "engine.h"

namespace addon {

vsgd::WireBuf Engine::wire(Napi::Env env, const Napi::Value& buf, size_t len, bool curv, bool probe, int rows,
                           size_t* floats) {
  assert_cpu(env, "the phased step");
  Napi::Float32Array w = f32(buf, "wire");
  const vsgd::WireBuf out = vsgd::wire_layout(P_, curv, probe, w.Data(), len, rows, floats);
  if (w.ElementLength() < *floats)
    throw Napi::RangeError::New(env, "vsgd-fd addon: expected wire to hold at least " + std::to_string(*floats) +
                                         " floats but it holds " + std::to_string(w.ElementLength()));
  return out;
}

// (c)'s optional last two arguments parts, stride: the wire holds `parts` processes' buffers,
// `stride` floats apart, whose sum (c) takes while loading them (wire.h).
void Engine::parts(const Napi::CallbackInfo& info, size_t k, const Napi::Value& buf, size_t floats, vsgd::WireBuf* w) {
  if (!given(info[k])) return;
  const int p = count(info[k], "parts");
  if (p == 1) return;
  const double stride = number(info[k + 1], "stride");
  const size_t len = buf.As<Napi::Float32Array>().ElementLength();
  if (!(stride >= (double)floats && stride == std::floor(stride) && (double)(p - 1) * stride + (double)floats <= (double)len))
    throw Napi::RangeError::New(info.Env(), "vsgd-fd addon: expected stride an integer >= " + std::to_string(floats) +
                                                " with " + std::to_string(p) + " parts of it in wire's " +
                                                std::to_string(len) + " floats");
  w->parts = p, w->stride = (size_t)stride;
}

// coordinates: null (all d) or sorted, unique, in [0, d)
const int32_t* Engine::coords(Napi::Env env, const Napi::Value& v, size_t* count) {
  *count = d_;
  if (!given(v)) return nullptr;
  auto c = i32(v, "coords");
  *count = c.ElementLength();
  const int32_t* p = c.Data();
  for (size_t u = 0; u < *count; ++u)
    if (p[u] < 0 || (size_t)p[u] >= d_ || (u > 0 && p[u] <= p[u - 1]))
      throw Napi::RangeError::New(env, "vsgd-fd addon: expected coords sorted, unique and in [0, " + std::to_string(d_) + ")");
  return p;
}

// sums(grads, n, extra | null, wire, rows, probe) -> the floats written: (a) over all d
Engine::SumsCall Engine::sums_call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  a.n = count(info[1], "n");
  a.grads = f32(info[0], "grads", (size_t)a.n * d_).Data();
  const bool probe = info[5].ToBoolean();
  a.extra = !probe && given(info[2]) ? f32(info[2], "extra", (size_t)a.n * d_).Data() : nullptr;
  SumsCall c{a, {}, 0};
  c.w = wire(env, info[3], d_, a.extra != nullptr, probe, count(info[4], "rows"), &c.floats);
  return c;
}

Napi::Value Engine::Sums(const Napi::CallbackInfo& info) {
  const SumsCall c = sums_call(info);
  backend_->sums(P_, c.a, c.w);
  return Napi::Number::New(info.Env(), (double)c.floats);
}

// sparseSums(offsets, indices, values, extra | null, coords | null, wire, rows, probe) -> floats
Napi::Value Engine::SparseSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  args(env);
  assert_cpu(env, "sparse rows");
  const bool probe = info[7].ToBoolean();
  const vsgd::Csr r = csr(env, info, !probe);
  // whether curvature values came, not whether they have data: a rank whose rows have no entries
  // passes an empty array, and its wire must still hold the fields the other ranks send
  const bool curv = !probe && given(info[3]);
  size_t n, floats;
  const int32_t* at = coords(env, info[4], &n);
  const vsgd::WireBuf w = wire(env, info[5], n, curv, probe, count(info[6], "rows"), &floats);
  float* base = w.m ? w.m : w.s1;
  std::fill(base, base + floats, 0.0f);
  sparse_.sums(P_, d_, r, at, n, w);
  return Napi::Number::New(env, (double)floats);
}

// applySums(coords | null, wire, rows, curvature, t, probeOut | null, parts?, stride?) -> stats: (c), the update (at
// coords, the last stat counts the coordinates that finished bootstrapping, as updateSparse)
Engine::ApplyCall Engine::apply_call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ApplyCall c{args(env), P_, nullptr, 0, {}, count(info[2], "rows"), info[3].ToBoolean()};
  c.at = coords(env, info[0], &c.count);
  size_t floats;
  c.w = wire(env, info[1], c.count, c.curv, false, c.rows, &floats);
  parts(info, 6, info[1], floats, &c.w);
  vsgd::set_time(c.P, number(info[4], "t"));
  c.a.probe_out = given(info[5]) ? f32(info[5], "probeOut", d_).Data() : nullptr;
  return c;
}

vsgd::StepStats Engine::apply(const ApplyCall& c) {
  if (c.at) return sparse_.finish(c.P, c.a.theta, c.a.state, d_, ld_, c.rows, c.curv, c.at, c.count, c.w, c.a.probe_out);
  return backend_->apply_sums(c.P, c.a, c.rows, c.curv, c.w);
}

Napi::Value Engine::ApplySums(const Napi::CallbackInfo& info) {
  const ApplyCall c = apply_call(info);
  const vsgd::StepStats s = apply(c);
  updated(c.rows);
  return stats(info.Env(), s);
}

// probeSums(coords | null, wire, rows, out, parts?, stride?): the probe point from the reduced probe sums
Napi::Value Engine::ProbeSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const vsgd::StepArgs a = args(env);
  size_t n, floats;
  const int32_t* at = coords(env, info[0], &n);
  const int rows = count(info[2], "rows");
  vsgd::WireBuf w = wire(env, info[1], n, false, true, rows, &floats);
  parts(info, 4, info[1], floats, &w);
  float* out = f32(info[3], "out", d_).Data();
  if (at) sparse_.probe_sums(P_, a.theta, a.state, d_, ld_, rows, at, n, w, out);
  else backend_->probe_sums(P_, a, rows, w, out);
  return env.Undefined();
}

Napi::Value Engine::SumsAsync(const Napi::CallbackInfo& info) {
  const SumsCall c = sums_call(info);
  return queue(info, [this, c] { backend_->sums(P_, c.a, c.w); },
               [floats = c.floats](Napi::Env env) { return Napi::Number::New(env, (double)floats); });
}

Napi::Value Engine::ApplySumsAsync(const Napi::CallbackInfo& info) {
  const ApplyCall c = apply_call(info);
  auto out = std::make_shared<vsgd::StepStats>();
  return queue(info, [this, c, out] { *out = apply(c); }, [this, rows = c.rows, out](Napi::Env env) {
    updated(rows);
    return stats(env, *out);
  });
}

}  // namespace addon
