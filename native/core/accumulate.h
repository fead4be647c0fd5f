// The accumulate form of a dense step: rows arrive a few at a time and only their per-coordinate
// sums are kept (O(d) memory instead of O(n·d)). Summed in the order the batch pass sums them,
// and finished by the same math, so the numbers are the batch form's.
#pragma once
#include <vector>

#include "backend.h"

namespace vsgd {

class Accumulator {
 public:
  // Starts a step over d coordinates (zeroes the sums).
  void begin(size_t d);
  bool open() const { return open_; }
  int rows() const { return rows_; }
  int curvature_rows() const { return curv_rows_; }
  // k gradient rows (k x d, row-major).
  void add(const Params& P, const float* grads, int k, size_t d, int threads);
  // Curvature of k rows already added: their gradients and the extra rows (shifted or supplied).
  void add_curvature(const Params& P, const float* state, const float* grads, const float* extra, int k, size_t d,
                     int threads);
  // θ+δ from the sums so far (the bootstrap offset uses every row added).
  void probe(const Params& P, const float* theta, const float* state, size_t d, float* out, int threads) const;
  // The update, as the batch pass would make it from the same rows; closes the step.
  StepStats finish(const Params& P, float* theta, float* state, size_t d, float* probe_out, int threads);

 private:
  std::vector<acc_t> m_, s1_, s2_, c1_, c2_;
  std::vector<int> bad_;
  int rows_ = 0, curv_rows_ = 0;
  bool open_ = false;
};

}  // namespace vsgd
