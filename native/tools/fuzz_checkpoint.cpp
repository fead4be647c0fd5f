// libFuzzer target for checkpoint parsing (native/core/checkpoint.h), built and run by
// scripts/native-checks.sh with -fsanitize=fuzzer,address,undefined. Every input is parsed as
// given and again with its checksum recomputed, so that mutations reach the fields behind the
// checksum. Whatever parses must encode and parse back to the same fields and state bits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../core/checkpoint.h"

namespace {

namespace ck = vsgd::checkpoint;

void fail(const char* why) {
  std::fprintf(stderr, "fuzz_checkpoint: %s\n", why);
  std::abort();
}

bool same(const ck::Value& a, const ck::Value& b) {
  return a.kind == b.kind && std::memcmp(&a.number, &b.number, sizeof a.number) == 0 && a.flag == b.flag &&
         a.text == b.text;
}

void check(const uint8_t* data, size_t size) {
  ck::Parsed p;
  if (!ck::parse(data, size, p).empty()) return;
  std::vector<float> state(p.count);
  ck::read_state(data, p, state.data());
  std::string why;
  const std::string json = ck::options_json(p.options, why);
  if (json.empty()) fail(("parsed options cannot be written: " + why).c_str());
  const std::vector<uint8_t> again = ck::encode(p.algo, p.d, p.steps, json, state.data(), p.count);
  ck::Parsed q;
  if (!ck::parse(again.data(), again.size(), q).empty()) fail("a re-encoded checkpoint does not parse");
  if (q.algo != p.algo || q.d != p.d || q.steps != p.steps || q.count != p.count || q.options.size() != p.options.size())
    fail("header fields changed in a round trip");
  for (size_t k = 0; k < p.options.size(); ++k)
    if (q.options[k].first != p.options[k].first || !same(q.options[k].second, p.options[k].second))
      fail("an option changed in a round trip");
  std::vector<float> back(q.count);
  ck::read_state(again.data(), q, back.data());
  if (q.count && std::memcmp(back.data(), state.data(), 4 * (size_t)q.count) != 0) fail("state bits changed in a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check(data, size);
  if (size >= ck::kMinSize) {
    std::vector<uint8_t> fixed(data, data + size);  // exactly `size` bytes: ASan sees any overrun
    const uint32_t c = ck::crc32(fixed.data(), size - 4);
    for (int i = 0; i < 4; ++i) fixed[size - 4 + i] = (uint8_t)(c >> (8 * i));
    check(fixed.data(), size);
  }
  return 0;
}
