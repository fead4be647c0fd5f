// The addon's guards on what lib/ passes in. lib/ checks every argument a user gives and says what
// was wrong; these cheap type, length and range asserts only keep a wrong call (a bug in lib/, or
// someone calling the addon directly) from reading out of bounds or casting out of range.
#pragma once
#include <napi.h>

#include <cstddef>
#include <string>

namespace addon {

// Throws a TypeError (wrong kind) or RangeError (wrong size or value) that names `what`.
Napi::Float32Array f32(const Napi::Value& v, const char* what, size_t len);
Napi::Float32Array f32(const Napi::Value& v, const char* what);  // any length
Napi::Int32Array i32(const Napi::Value& v, const char* what);
double number(const Napi::Value& v, const char* what);
// an integer in [1, 2^31): a row count
int count(const Napi::Value& v, const char* what);
// o[key] as a float the kernels can take: finite and within float32's range
float float_field(const Napi::Object& o, const char* key);
int int_field(const Napi::Object& o, const char* key, int lo, int hi);
inline bool given(const Napi::Value& v) { return !v.IsNull() && !v.IsUndefined(); }

}  // namespace addon
