// Checkpoint writing and validation (docs/checkpoint.md). Every read is bounded by the caller's
// size, and nothing past the version is interpreted before the checksum matches.
#include "checkpoint.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "names.h"

namespace vsgd {
namespace checkpoint {
namespace {

constexpr char kMagic[8] = {'V', 'S', 'G', 'D', 'F', 'D', 'C', 'K'};
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1: JavaScript's safe integers
static_assert(kAlgorithms == (uint32_t)kAlgoCount, "algorithm ids");

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_table();  // constant: nothing shared is written

bool little_endian() {
  const uint16_t x = 1;
  uint8_t b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

uint32_t get_u32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
double get_f64(const uint8_t* p) {
  const uint64_t u = (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
  double x;
  std::memcpy(&x, &u, 8);
  return x;
}
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = (uint8_t)(v >> (8 * i));
}
void put_f64(uint8_t* p, double x) {
  uint64_t u;
  std::memcpy(&u, &x, 8);
  put_u32(p, (uint32_t)u);
  put_u32(p + 4, (uint32_t)(u >> 32));
}

std::string show(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

bool safe_integer(double x, double lo) { return x >= lo && x <= kMaxSafe && x == std::floor(x); }
bool digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Option names are identifiers; this also keeps "__proto__"-like surprises rare and visible.
bool valid_name(const std::string& k) {
  if (k.empty() || k.size() > kMaxToken) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit((uint8_t)c) || c == '_' || c == '$')) return false;
  return true;
}

// The options block: strict JSON, but only a flat object of numbers, booleans and ASCII strings. No
// recursion, so no input can exhaust the stack.
struct Json {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  std::string err;

  bool fail(const std::string& why) {
    err = why + " at byte " + std::to_string(i);
    return false;
  }
  void ws() {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) ++i;
  }
  bool at(char c) const { return i < n && p[i] == (uint8_t)c; }
  bool literal(const char* word) {
    const size_t len = std::strlen(word);
    if (n - i < len || std::memcmp(p + i, word, len) != 0) return false;
    i += len;
    return true;
  }

  static int hex(uint8_t c) {
    if (digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool string(std::string& s) {  // at the opening quote
    ++i;
    for (;;) {
      if (i >= n) return fail("an unterminated string");
      const uint8_t c = p[i];
      if (c == '"') return ++i, true;
      if (s.size() >= kMaxToken) return fail("a string longer than " + std::to_string(kMaxToken) + " characters");
      if (c < 0x20) return fail("a control character in a string");
      if (c >= 0x80) return fail("a non-ASCII string");
      if (c != '\\') {
        s += (char)c, ++i;
        continue;
      }
      if (i + 1 >= n) return fail("an unterminated string");
      const uint8_t e = p[i + 1];
      const char* simple = "\"\\/bfnrt";
      const char* value = "\"\\/\b\f\n\r\t";
      const char* hit = e ? std::strchr(simple, e) : nullptr;
      if (hit) {
        s += value[hit - simple], i += 2;
      } else if (e == 'u') {
        if (n - i < 6) return fail("a short \\u escape");
        int v = 0;
        for (int k = 2; k < 6; ++k) {
          const int h = hex(p[i + k]);
          if (h < 0) return fail("a bad \\u escape");
          v = v * 16 + h;
        }
        if (v >= 0x80) return fail("a \\u escape beyond ASCII");
        s += (char)v, i += 6;
      } else {
        return fail("an invalid escape");
      }
    }
  }

  bool number(double& x) {  // the JSON grammar, then an exact conversion
    const size_t start = i;
    if (at('-')) ++i;
    if (i >= n || !digit(p[i])) return fail("a value that is not a number, a string or a boolean");
    if (p[i] == '0') ++i;
    else
      while (i < n && digit(p[i])) ++i;
    if (at('.')) {
      ++i;
      if (i >= n || !digit(p[i])) return fail("a bad number");
      while (i < n && digit(p[i])) ++i;
    }
    if (at('e') || at('E')) {
      ++i;
      if (at('+') || at('-')) ++i;
      if (i >= n || !digit(p[i])) return fail("a bad number");
      while (i < n && digit(p[i])) ++i;
    }
    if (i - start > kMaxToken) return fail("a number longer than " + std::to_string(kMaxToken) + " characters");
    const char* b = (const char*)p + start;
    const char* e = (const char*)p + i;
    const auto r = std::from_chars(b, e, x);
    if (r.ec != std::errc() || r.ptr != e || !std::isfinite(x)) return fail("a number out of range");
    return true;
  }

  bool object(Options& out) {
    ws();
    if (!at('{')) return fail("not a JSON object");
    ++i;
    ws();
    if (at('}')) ++i;
    else
      for (;;) {
        ws();
        if (!at('"')) return fail("expected a quoted option name");
        std::string key;
        if (!string(key)) return false;
        if (!valid_name(key)) return fail("an option name that is not an identifier");
        for (const auto& kv : out)
          if (kv.first == key) return fail("option \"" + key + "\" given twice");
        if (out.size() >= kMaxOptions) return fail("more than " + std::to_string(kMaxOptions) + " options");
        ws();
        if (!at(':')) return fail("expected ':'");
        ++i;
        ws();
        Value v;
        if (at('"')) {
          v.kind = Value::kString;
          if (!string(v.text)) return false;
        } else if (literal("true")) {
          v.kind = Value::kBool, v.flag = true;
        } else if (literal("false")) {
          v.kind = Value::kBool;
        } else if (!number(v.number)) {
          return false;
        }
        out.emplace_back(std::move(key), std::move(v));
        ws();
        if (at(',')) {
          ++i;
          continue;
        }
        if (!at('}')) return fail("expected ',' or '}'");
        ++i;
        break;
      }
    ws();
    if (i != n) return fail("bytes after the object");
    return true;
  }
};

bool append_string(std::string& s, const std::string& t, std::string& why) {
  if (t.size() > kMaxToken) return why = "a string longer than " + std::to_string(kMaxToken) + " characters", false;
  s += '"';
  for (char ch : t) {
    const uint8_t c = (uint8_t)ch;
    if (c >= 0x80) return why = "a non-ASCII string", false;
    if (c == '"' || c == '\\') {
      s += '\\', s += ch;
    } else if (c < 0x20) {
      const char* hexd = "0123456789abcdef";
      s += "\\u00", s += hexd[c >> 4], s += hexd[c & 15];
    } else {
      s += ch;
    }
  }
  s += '"';
  return true;
}

}  // namespace

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string parse(const uint8_t* data, size_t size, Parsed& out) {
  out = Parsed{};
  if (!data || size < kMinSize) return "it has " + std::to_string(size) + " bytes, fewer than any checkpoint";
  if (std::memcmp(data, kMagic, 8) != 0) return "it does not start with the vsgd-fd magic bytes";
  const uint32_t version = get_u32(data + 8);
  if (version != kVersion)
    return "format version " + std::to_string(version) + "; this build reads version " + std::to_string(kVersion);
  const uint64_t end = size - 4;
  if (crc32(data, end) != get_u32(data + end)) return "checksum mismatch (truncated or corrupted)";

  const uint32_t algo = get_u32(data + 12);
  if (algo >= kAlgorithms) return "unknown algorithm id " + std::to_string(algo);
  const double d = get_f64(data + 16), steps = get_f64(data + 24);
  if (!safe_integer(d, 1)) return "d = " + show(d) + " is not a whole number >= 1";
  if (!safe_integer(steps, 0)) return "steps = " + show(steps) + " is not a whole number >= 0";
  const uint64_t len = get_u32(data + 32), padded = (len + 3) & ~(uint64_t)3;
  if (36 + padded + 4 > end) return "the options block runs past the end";
  for (uint64_t k = 36 + len; k < 36 + padded; ++k)
    if (data[k]) return "the options block's padding is not zero";
  Json json{data + 36, (size_t)len};
  Options options;
  if (!json.object(options)) return "the options block is not a flat JSON object of numbers, strings and booleans: " + json.err;

  const uint32_t count = get_u32(data + 36 + padded);
  const uint64_t at = 36 + padded + 4;
  if (at + (uint64_t)count * 4 != end)
    return std::to_string(count) + " state floats do not fill the " + std::to_string(end - at) + " bytes left";
  int sparsity = kDense;
  if (uses_sparsity((int)algo))
    for (const auto& kv : options) {
      if (kv.first != "sparsity") continue;
      sparsity = kv.second.kind == Value::kString ? sparsity_id(kv.second.text) : -1;
      if (sparsity < 0) return "options.sparsity is not 'none', 'instance' or 'global'";
    }
  const uint64_t want = (uint64_t)layout((int)algo, sparsity).count * (uint64_t)d;
  if (count != want)
    return std::to_string(count) + " state floats where " + kAlgoNames[algo] + " with these options and d = " + show(d) +
           " keeps " + std::to_string(want);

  for (uint32_t k = 0; k < count; ++k)
    if ((get_u32(data + at + 4 * (uint64_t)k) & 0x7f800000u) == 0x7f800000u)
      return "state float " + std::to_string(k) + " is not finite";
  // second moments and shares are never negative after a step (tau is: it counts the bootstrap's
  // samples as -m); the rates take square roots of them, so a negative one gives a non-finite rate
  const Layout L = layout((int)algo, sparsity);
  const std::pair<int, const char*> signless[] = {{L.v, "v"}, {L.vh, "vh"}, {L.p, "p"}};
  for (const auto& [slot, name] : signless) {
    if (slot < 0) continue;
    for (uint64_t i = 0, n = (uint64_t)d; i < n; ++i) {
      const uint64_t k = (uint64_t)slot * n + i;
      const uint32_t bits = get_u32(data + at + 4 * k);
      if (bits > 0x80000000u)  // sign bit set, and not -0
        return "state float " + std::to_string(k) + " (" + name + " of coordinate " + std::to_string(i) + ") is negative, which no step writes";
    }
  }

  out.algo = algo;
  out.d = d;
  out.steps = steps;
  out.options = std::move(options);
  out.count = count;
  out.state_at = (size_t)at;
  return "";
}

size_t first_non_finite(const float* s, size_t count) {
  for (size_t k = 0; k < count; ++k)
    if (!std::isfinite(s[k])) return k;
  return count;
}

void read_state(const uint8_t* data, const Parsed& p, float* out) {
  if (p.count == 0) return;
  const uint8_t* s = data + p.state_at;
  if (little_endian()) {
    std::memcpy(out, s, (size_t)p.count * 4);
    return;
  }
  for (uint32_t k = 0; k < p.count; ++k) {
    const uint32_t u = get_u32(s + 4 * (size_t)k);
    std::memcpy(out + k, &u, 4);
  }
}

std::string options_json(const Options& o, std::string& why) {
  if (o.size() > kMaxOptions) return why = "more than " + std::to_string(kMaxOptions) + " options", "";
  std::string s = "{";
  for (size_t k = 0; k < o.size(); ++k) {
    const auto& [key, v] = o[k];
    if (!valid_name(key)) return why = "option name \"" + key + "\" is not an identifier", "";
    for (size_t j = 0; j < k; ++j)
      if (o[j].first == key) return why = "option \"" + key + "\" given twice", "";
    if (k) s += ',';
    s += '"' + key + "\":";
    if (v.kind == Value::kString) {
      if (!append_string(s, v.text, why)) return why = "options." + key + ": " + why, "";
    } else if (v.kind == Value::kBool) {
      s += v.flag ? "true" : "false";
    } else {
      if (!std::isfinite(v.number)) return why = "options." + key + " is not a finite number", "";
      s += show(v.number);  // shortest text that reads back to the same double
    }
  }
  return s + "}";
}

size_t encoded_size(size_t json_bytes, uint32_t count) { return 36 + ((json_bytes + 3) & ~(size_t)3) + 4 + (size_t)count * 4 + 4; }

void write(uint8_t* out, uint32_t algo, double d, double steps, const std::string& json, const float* state,
           uint32_t count) {
  std::memcpy(out, kMagic, 8);
  put_u32(out + 8, kVersion);
  put_u32(out + 12, algo);
  put_f64(out + 16, d);
  put_f64(out + 24, steps);
  put_u32(out + 32, (uint32_t)json.size());
  const size_t padded = (json.size() + 3) & ~(size_t)3;
  if (!json.empty()) std::memcpy(out + 36, json.data(), json.size());
  std::memset(out + 36 + json.size(), 0, padded - json.size());
  size_t at = 36 + padded;
  put_u32(out + at, count);
  at += 4;
  if (count && little_endian()) {
    std::memcpy(out + at, state, (size_t)count * 4);
  } else {
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t u;
      std::memcpy(&u, state + k, 4);
      put_u32(out + at + 4 * (size_t)k, u);
    }
  }
  at += (size_t)count * 4;
  put_u32(out + at, crc32(out, at));
}

std::vector<uint8_t> encode(uint32_t algo, double d, double steps, const std::string& json, const float* state,
                            uint32_t count) {
  std::vector<uint8_t> out(encoded_size(json.size(), count));
  write(out.data(), algo, d, steps, json, state, count);
  return out;
}

}  // namespace checkpoint
}  // namespace vsgd
