#include "args.h"

#include <cfloat>
#include <cmath>

namespace addon {
namespace {

[[noreturn]] void type_error(const Napi::Env& env, const std::string& want, const char* what) {
  throw Napi::TypeError::New(env, "vsgd-fd addon: expected " + want + " for " + what);
}
[[noreturn]] void range_error(const Napi::Env& env, const std::string& want, const char* what) {
  throw Napi::RangeError::New(env, "vsgd-fd addon: expected " + want + " for " + what);
}

}  // namespace

Napi::Float32Array f32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    type_error(v.Env(), "a Float32Array", what);
  return v.As<Napi::Float32Array>();
}

Napi::Float32Array f32(const Napi::Value& v, const char* what, size_t len) {
  auto a = f32(v, what);
  if (a.ElementLength() != len) range_error(v.Env(), "length " + std::to_string(len), what);
  return a;
}

Napi::Int32Array i32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    type_error(v.Env(), "an Int32Array", what);
  return v.As<Napi::Int32Array>();
}

double number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) type_error(v.Env(), "a number", what);
  return v.As<Napi::Number>().DoubleValue();
}

int count(const Napi::Value& v, const char* what) {
  const double n = number(v, what);
  if (!(n >= 1 && n < 2147483648.0 && n == std::floor(n))) range_error(v.Env(), "an integer in [1, 2^31)", what);
  return (int)n;
}

float float_field(const Napi::Object& o, const char* key) {
  const double x = number(o.Get(key), key);
  if (!(std::fabs(x) <= FLT_MAX)) range_error(o.Env(), "a finite float32", key);  // NaN fails too
  return (float)x;
}

int int_field(const Napi::Object& o, const char* key, int lo, int hi) {
  const double x = number(o.Get(key), key);
  if (!(x >= lo && x <= hi && x == std::floor(x)))
    range_error(o.Env(), "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", key);
  return (int)x;
}

}  // namespace addon
