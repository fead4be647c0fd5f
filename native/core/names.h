// The names of vsgd_math.h's ids as JavaScript, options and checkpoints spell them, defined here
// once: the addon exports these tables (lib/native.ts reads its ids from them) and the checkpoint
// parser reads them.
#pragma once
#include <string_view>

#include "vsgd_math.h"

namespace vsgd {

// indexed by Algo
inline constexpr const char* kAlgoNames[] = {"VSGDfd", "VSGD", "SGD", "AdaGrad", "NaturalGradient", "Adam"};
// indexed by Sparsity: the values of the `sparsity` option
inline constexpr const char* kSparsityNames[] = {"none", "instance", "global"};
// indexed by Variant: the values of vSGD-fd's `variant` option
inline constexpr const char* kVariantNames[] = {"paper", "signed"};
// Layout's members before `count`, in order
inline constexpr const char* kFieldNames[] = {"g", "v", "h", "vh", "tau", "eta", "p"};
constexpr int kAlgoCount = (int)(sizeof kAlgoNames / sizeof *kAlgoNames);
constexpr int kSparsityCount = (int)(sizeof kSparsityNames / sizeof *kSparsityNames);
constexpr int kFieldCount = (int)(sizeof kFieldNames / sizeof *kFieldNames);
constexpr int kVariantCount = (int)(sizeof kVariantNames / sizeof *kVariantNames);
static_assert(kVariantCount == kSigned + 1, "a name for every variant");
static_assert(kAlgoCount == kAdam + 1 && kSparsityCount == kGlobal + 1, "a name for every id");
static_assert(sizeof(Layout) == (kFieldCount + 1) * sizeof(int), "a name for every Layout slot");

// Slot of field f (an index into kFieldNames) in L, -1 when the algorithm has no such field.
inline int slot(const Layout& L, int f) {
  const int slots[] = {L.g, L.v, L.h, L.vh, L.tau, L.eta, L.p};
  static_assert(sizeof slots / sizeof *slots == kFieldCount, "one slot per name");
  return slots[f];
}

// The id of a sparsity name, or -1.
inline int sparsity_id(std::string_view name) {
  for (int s = 0; s < kSparsityCount; ++s)
    if (name == kSparsityNames[s]) return s;
  return -1;
}

}  // namespace vsgd
