// CPU backend: OpenMP over blocks of coordinates; inside a block the rows are walked
// row by row (contiguous, prefetch-friendly) into per-block sums, then each coordinate is
// finished by the shared math. No d-sized temporaries.
#include <algorithm>
#include <cstring>

#include "backend.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {
namespace {

constexpr size_t kBlock = 512;

// Sums of the gradient rows over one block (and, when curvature came, of the curvatures).
void block_sums(const Params& P, const Layout& L, const StepArgs& a, size_t i0, size_t len, Acc* acc,
                bool want_curv) {
  for (size_t k = 0; k < len; ++k) acc[k] = acc_zero();
  if (!a.grads) return;
  for (int j = 0; j < a.n; ++j) {
    const float* row = a.grads + (size_t)j * a.d + i0;
    for (size_t k = 0; k < len; ++k) acc_grad(acc[k], P.sparsity, row[k]);
  }
  if (!want_curv || !a.extra) return;
  float inv_delta[kBlock];
  for (size_t k = 0; k < len; ++k) {
    inv_delta[k] = 0.0f;
    if (needs_offset(P.algo)) inv_delta[k] = 1.0f / fabsf(probe_offset(load(L, a.state, a.d, i0 + k), acc[k], P.eps));
  }
  for (int j = 0; j < a.n; ++j) {
    const size_t off = (size_t)j * a.d + i0;
    for (size_t k = 0; k < len; ++k) acc_curv(acc[k], P.algo, P.sparsity, a.grads[off + k], a.extra[off + k], inv_delta[k]);
  }
}

class Cpu final : public Backend {
 public:
  explicit Cpu(int threads) : threads_(threads) {}
  const char* name() const override { return "cpu"; }

  StepStats step(const Params& P, const StepArgs& a) override {
    const Layout L = layout(P.algo, P.sparsity);
    const int64_t blocks = (int64_t)((a.d + kBlock - 1) / kBlock);
    const float n = (float)a.n;
    const bool curv = a.extra != nullptr && uses_sparsity(P.algo);
    int64_t touched = 0, skipped = 0, outliers = 0, boot = 0;
#pragma omp parallel for schedule(static) num_threads(threads()) reduction(+ : touched, skipped, outliers, boot)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t i0 = (size_t)b * kBlock, len = std::min(kBlock, a.d - i0);
      Acc acc[kBlock];
      block_sums(P, L, a, i0, len, acc, curv);
      for (size_t k = 0; k < len; ++k) {
        const size_t i = i0 + k;
        Coord c = load(L, a.state, a.d, i);
        float th = a.theta[i];
        const unsigned f = apply(P, c, th, acc[k], n, curv);
        if (f & kTouched) {
          store(L, a.state, a.d, i, c);
          a.theta[i] = th;
        }
        touched += (f & kTouched) != 0;
        skipped += (f & kSkipped) != 0;
        outliers += (f & kOutlier) != 0;
        boot += (f & kBootstrapping) != 0;
      }
    }
    StepStats s;
    s.touched = touched;
    s.skipped = skipped;
    s.outliers = outliers;
    s.bootstrapping = boot;
    return s;
  }

  void probe(const Params& P, const StepArgs& a, float* out) override {
    const Layout L = layout(P.algo, P.sparsity);
    const int64_t blocks = (int64_t)((a.d + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) num_threads(threads())
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t i0 = (size_t)b * kBlock, len = std::min(kBlock, a.d - i0);
      Acc acc[kBlock];
      block_sums(P, L, a, i0, len, acc, false);
      for (size_t k = 0; k < len; ++k)
        out[i0 + k] = a.theta[i0 + k] + probe_offset(load(L, a.state, a.d, i0 + k), acc[k], P.eps);
    }
  }

 private:
  int threads() const {
#ifdef _OPENMP
    return threads_ > 0 ? threads_ : omp_get_max_threads();
#else
    return 1;
#endif
  }
  int threads_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::unique_ptr<Backend>(new Cpu(threads)); }

}  // namespace vsgd
