// The accumulate form of a dense step: rows arrive a few at a time and only their per-coordinate
// sums are kept (O(d) memory instead of O(n·d)): phase (a) of traverse.h into d-sized buffers,
// then its phase (c). Summed in the order the batch pass sums them, and finished by the same
// sequence, so the numbers are the batch form's, bit for bit.
#pragma once
#include <vector>

#include "backend.h"
#include "traverse.h"

namespace vsgd {

class Accumulator {
 public:
  // Starts a step over d coordinates (zeroes the sums).
  void begin(size_t d);
  bool open() const { return open_; }
  int rows() const { return rows_; }
  int curvature_rows() const { return curv_rows_; }
  // k gradient rows (k x d, row-major) and, when extra is not null, their curvature rows.
  void add(const Params& P, const float* grads, const float* extra, int k, size_t d, int threads);
  // Curvature of k rows already added: their gradients and the extra rows (shifted or supplied),
  // in the order the gradient rows came.
  void add_curvature(const Params& P, const float* grads, const float* extra, int k, size_t d, int threads);
  // θ+δ from the sums so far (the bootstrap offset uses every row added).
  void probe(const Params& P, float* theta, float* state, size_t d, size_t ld, float* out, int threads);
  // The update, as the batch pass would make it from the same rows; closes the step.
  StepStats finish(const Params& P, float* theta, float* state, size_t d, size_t ld, float* probe_out, int threads);

 private:
  template <int ALGO, int SP> struct Add;
  template <int ALGO, int SP> struct Probe;
  template <int ALGO, int SP> struct Finish;
  SumsBuf buf() { return SumsBuf{m_.data(), s1_.data(), s2_.data(), c1_.data(), c2_.data(), nullptr}; }
  std::vector<float> m_, s2_, c1_, c2_;
  std::vector<double> s1_;
  int rows_ = 0, curv_rows_ = 0;
  bool open_ = false;
};

}  // namespace vsgd
