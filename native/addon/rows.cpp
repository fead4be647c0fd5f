// The CPU-only row forms: sparse rows (CSR, O(nnz) per step) and the accumulate form (rows a few
// at a time, O(d) memory; docs/accumulate.md).
#include <string>

#include "args.h"
#include "engine.h"

namespace addon {

using vsgd::Params;

// (offsets, indices, values[, extra]) as info[0..3], checked against d: memory safety, so the
// full check of the rows (sorted, in range) is here, and its message is the user's
vsgd::Csr Engine::csr(Napi::Env env, const Napi::CallbackInfo& info, bool with_extra) {
  auto o = i32(info[0], "offsets");
  auto ix = i32(info[1], "indices");
  if (o.ElementLength() < 2) throw Napi::RangeError::New(env, "vsgd-fd addon: expected at least 2 offsets");
  vsgd::Csr r{};
  r.offsets = o.Data();
  r.indices = ix.Data();
  r.nnz = ix.ElementLength();
  r.n = (int)(o.ElementLength() - 1);
  r.values = f32(info[2], "values", r.nnz).Data();
  r.shifted = with_extra && given(info[3]) ? f32(info[3], "shifted", r.nnz).Data() : nullptr;
  const std::string why = vsgd::check_csr(r, d_);
  if (!why.empty()) throw Napi::RangeError::New(env, "Invalid sparse rows: " + why);
  return r;
}

// updateSparse(offsets, indices, values, shifted | null, t, probeOut | null)
//   -> [touched, skipped, outliers, finished bootstrapping]
Napi::Value Engine::UpdateSparse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  assert_cpu(env, "sparse rows");
  const vsgd::Csr r = csr(env, info, true);
  Params P = P_;
  vsgd::set_time(P, number(info[4], "t"));
  float* probe_out = given(info[5]) ? f32(info[5], "probeOut", d_).Data() : nullptr;
  const vsgd::StepStats s = sparse_.step(P, a.theta, a.state, d_, ld_, r, probe_out, threads_);
  updated(r.n);
  return stats(env, s);
}

// probeSparse(offsets, indices, values, out): θ+δ for the coordinates the rows name that still
// bootstrap; out holds the point the last update wrote at the others (sparse.h)
Napi::Value Engine::ProbeSparse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  assert_cpu(env, "sparse rows");
  const vsgd::Csr r = csr(env, info, false);
  sparse_.probe(P_, a.theta, a.state, d_, ld_, r, f32(info[3], "out", d_).Data());
  return env.Undefined();
}

// The arguments of accumulate() and accumulateCurvature(): (grads, k, extra), extra optional
// unless `need_extra`.
Engine::AccRows Engine::acc_rows(const Napi::CallbackInfo& info, bool need_extra) {
  args(info.Env());
  assert_cpu(info.Env(), "the accumulate form");
  const int k = count(info[1], "k");
  const float* g = f32(info[0], "grads", (size_t)k * d_).Data();
  const float* e = need_extra || given(info[2]) ? f32(info[2], "extra", (size_t)k * d_).Data() : nullptr;
  return AccRows{k, g, e};
}

// accumulate(grads, k, extra | null): k gradient rows, and their curvature when extra is given
Napi::Value Engine::Accumulate(const Napi::CallbackInfo& info) {
  const AccRows r = acc_rows(info, false);
  if (!acc_.open()) acc_.begin(d_);
  acc_.add(P_, r.g, r.e, r.k, d_, threads_);  // the gradients and, with extra, their curvature
  return info.Env().Undefined();
}

// accumulateCurvature(grads, k, extra): curvature of k rows already accumulated
Napi::Value Engine::AccumulateCurvature(const Napi::CallbackInfo& info) {
  const AccRows r = acc_rows(info, true);
  if (!acc_.open() || acc_.curvature_rows() + r.k > acc_.rows())
    throw Napi::RangeError::New(info.Env(), "accumulateCurvature: more curvature rows than gradient rows accumulated");
  acc_.add_curvature(P_, r.g, r.e, r.k, d_, threads_);
  return info.Env().Undefined();
}

// accumulateProbe(out): θ+δ from the sums so far
Napi::Value Engine::AccumulateProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  assert_cpu(env, "the accumulate form");
  if (!acc_.open()) acc_.begin(d_);
  acc_.probe(P_, a.theta, a.state, d_, ld_, f32(info[0], "out", d_).Data(), threads_);
  return env.Undefined();
}

// finish(t, probeOut | null) -> stats, as update()
Napi::Value Engine::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  vsgd::StepArgs a = args(env);
  assert_cpu(env, "the accumulate form");
  if (!acc_.open() || acc_.rows() == 0) throw Napi::Error::New(env, "finish: no rows were accumulated");
  Params P = P_;
  vsgd::set_time(P, number(info[0], "t"));
  float* probe_out = given(info[1]) ? f32(info[1], "probeOut", d_).Data() : nullptr;
  const int rows = acc_.rows();
  const vsgd::StepStats s = acc_.finish(P, a.theta, a.state, d_, ld_, probe_out, threads_);
  updated(rows);
  return stats(env, s);
}

}  // namespace addon
