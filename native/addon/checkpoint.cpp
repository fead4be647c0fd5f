// Node-API side of native/core/checkpoint.h: JavaScript values in and out, nothing else.
//   checkpointEncode(algo, d, steps, options, state) -> Uint8Array
//   checkpointDecode(bytes) -> { algo, d, steps, options, state }   (throws "Invalid checkpoint: ...")
#include <napi.h>

#include <cmath>
#include <string>

#include "../core/checkpoint.h"

namespace {

namespace ck = vsgd::checkpoint;

double number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string("Expected a number for ") + what);
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double algo = number(info[0], "algo"), d = number(info[1], "d"), steps = number(info[2], "steps");
  if (!info[3].IsObject()) throw Napi::TypeError::New(env, "Expected an object for options");
  if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, "Expected a Float32Array for state");
  auto state = info[4].As<Napi::Float32Array>();
  if (!(algo >= 0 && algo < ck::kAlgorithms && algo == std::floor(algo)))
    throw Napi::RangeError::New(env, "Unknown algorithm id");
  if (state.ElementLength() > 0xffffffffu)
    throw Napi::RangeError::New(env, "The state has more floats than checkpoint format version 1 can hold (2^32 - 1)");

  // own enumerable keys, undefined values left out: what JSON.stringify would write
  auto obj = info[3].As<Napi::Object>();
  auto keys = obj.GetPropertyNames();
  ck::Options options;
  for (uint32_t k = 0; k < keys.Length(); ++k) {
    const std::string key = keys.Get(k).ToString().Utf8Value();
    const Napi::Value v = obj.Get(key);
    ck::Value out;
    if (v.IsUndefined()) continue;
    if (v.IsString()) out.kind = ck::Value::kString, out.text = v.As<Napi::String>().Utf8Value();
    else if (v.IsBoolean()) out.kind = ck::Value::kBool, out.flag = v.As<Napi::Boolean>().Value();
    else if (v.IsNumber()) out.number = v.As<Napi::Number>().DoubleValue();
    else throw Napi::TypeError::New(env, "Option \"" + key + "\" is not a number, a string or a boolean");
    options.emplace_back(key, std::move(out));
  }
  std::string why;
  const std::string json = ck::options_json(options, why);
  if (json.empty()) throw Napi::Error::New(env, "Cannot save these options: " + why);

  const uint32_t count = (uint32_t)state.ElementLength();
  const size_t bad = ck::first_non_finite(state.Data(), count);
  if (bad < count)
    throw Napi::Error::New(env, "Cannot save: state float " + std::to_string(bad) +
                                    " is not finite (the kernels never write one; was the state edited?)");
  auto bytes = Napi::Uint8Array::New(env, ck::encoded_size(json.size(), count));
  ck::write(bytes.Data(), (uint32_t)algo, d, steps, json, state.Data(), count);
  return bytes;
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "Expected a Uint8Array for bytes");
  auto bytes = info[0].As<Napi::Uint8Array>();
  ck::Parsed p;
  const std::string why = ck::parse(bytes.Data(), bytes.ElementLength(), p);
  if (!why.empty()) throw Napi::Error::New(env, "Invalid checkpoint: " + why);

  auto options = Napi::Object::New(env);
  for (const auto& [key, v] : p.options) {
    if (v.kind == ck::Value::kString) options.Set(key, Napi::String::New(env, v.text));
    else if (v.kind == ck::Value::kBool) options.Set(key, Napi::Boolean::New(env, v.flag));
    else options.Set(key, Napi::Number::New(env, v.number));
  }
  auto state = Napi::Float32Array::New(env, p.count);
  ck::read_state(bytes.Data(), p, state.Data());
  auto out = Napi::Object::New(env);
  out.Set("algo", Napi::Number::New(env, p.algo));
  out.Set("d", Napi::Number::New(env, p.d));
  out.Set("steps", Napi::Number::New(env, p.steps));
  out.Set("options", options);
  out.Set("state", state);
  return out;
}

}  // namespace

// Called once from module.cpp's Init.
void RegisterCheckpoint(Napi::Env env, Napi::Object exports) {
  exports.Set("checkpointEncode", Napi::Function::New(env, Encode));
  exports.Set("checkpointDecode", Napi::Function::New(env, Decode));
  exports.Set("checkpointVersion", Napi::Number::New(env, ck::kVersion));
}
