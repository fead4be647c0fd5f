// Checkpoint bytes (docs/checkpoint.md): writing them, and parsing that validates every field
// before anything is used. Plain C++17 without Node, so the fuzz target links it alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vsgd {
namespace checkpoint {

constexpr uint32_t kVersion = 1;
// magic, version, algorithm, d, steps, L, S, CRC: the smallest checkpoint has no options bytes
// and no state
constexpr size_t kMinSize = 44;
// Options are a flat JSON object of numbers, booleans and ASCII strings (what the schemas allow);
// these bounds keep a hostile block cheap to refuse.
constexpr size_t kMaxOptions = 32, kMaxToken = 64;
constexpr uint32_t kAlgorithms = 6;  // ids 0 .. 5 (vsgd_math.h's Algo)

struct Value {
  enum Kind { kNumber, kString, kBool } kind = kNumber;
  double number = 0;
  bool flag = false;
  std::string text;
};
using Options = std::vector<std::pair<std::string, Value>>;

struct Parsed {
  uint32_t algo = 0;
  double d = 0, steps = 0;
  Options options;
  uint32_t count = 0;   // S, state floats
  size_t state_at = 0;  // byte offset of the state block
};

uint32_t crc32(const uint8_t* p, size_t n);

// Checks size, magic, version, checksum, algorithm id, d, steps, the options block, that S
// is the state the algorithm and options.sparsity imply for d, and that the state is finite. Returns "" and fills `out`, or
// says why the bytes are refused. Reads data[0, size) only, each header field once.
std::string parse(const uint8_t* data, size_t size, Parsed& out);

// Index of the first non-finite float in s[0, count), or count. A state the kernels wrote is
// always finite (they skip what would not be), so save() and parse() refuse anything else.
size_t first_non_finite(const float* s, size_t count);

// The S state floats of bytes that parse() accepted.
void read_state(const uint8_t* data, const Parsed& p, float* out);

// The options block as JSON, or "" with `why` set for what parse() would refuse.
std::string options_json(const Options& o, std::string& why);
size_t encoded_size(size_t json_bytes, uint32_t count);
// Writes encoded_size(json.size(), count) bytes at out.
void write(uint8_t* out, uint32_t algo, double d, double steps, const std::string& json, const float* state,
           uint32_t count);
// write() into a new vector (tools and tests).
std::vector<uint8_t> encode(uint32_t algo, double d, double steps, const std::string& json, const float* state,
                            uint32_t count);

}  // namespace checkpoint
}  // namespace vsgd
