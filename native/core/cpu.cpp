// CPU backend: OpenMP over blocks of coordinates; the per-block kernels come from the
// instruction-set build chosen once at run time (AVX2+FMA where the processor has it).
#include <algorithm>
#include <vector>

#include "backend.h"
#include "cpu_isa.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace vsgd {
namespace {

bool has_avx2() {
#if defined(VSGD_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

Kernels pick_kernels(int algo, int sparsity) {
#ifdef VSGD_HAVE_AVX2
  if (has_avx2()) return avx2::kernels(algo, sparsity);
#endif
  return generic::kernels(algo, sparsity);
}

class Cpu final : public Backend {
 public:
  explicit Cpu(int threads) : threads_(threads) {}
  const char* name() const override { return "cpu"; }
  bool fuses_probe() const override { return true; }

  StepStats step(const Params& P0, const StepArgs& a0) override {
    Params P = P0;
    StepArgs a = a0;
    if (P.reweight) {
      gram(a);
      weights_.resize(a.n);
      P.neff = reweight(gram_.data(), a.n, weights_.data());
      a.weights = weights_.data();
    }
    const Kernels K = pick_kernels(P.algo, P.sparsity);
    const int64_t blocks = (int64_t)((a.d + kBlock - 1) / kBlock);
    StepStats s;
#pragma omp parallel for schedule(dynamic, 8) num_threads(team(a.d)) reduction(+ : s)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t i0 = (size_t)b * kBlock;
      s += K.step(P, a, i0, std::min(kBlock, a.d - i0));
    }
    return s;
  }

  void probe(const Params& P, const StepArgs& a, float* out) override {
    const Kernels K = pick_kernels(P.algo, P.sparsity);
    if (!K.probe) return;
    const int64_t blocks = (int64_t)((a.d + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(dynamic, 8) num_threads(team(a.d))
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t i0 = (size_t)b * kBlock;
      K.probe(P, a, i0, std::min(kBlock, a.d - i0), out);
    }
  }

 private:
  // Gram matrix of the n rows (O(n² d)): blocked over coordinates so each row is read from
  // memory once, every pair's partial dot product taken from cache, summed in double.
  void gram(const StepArgs& a) {
    const int n = a.n;
    gram_.assign((size_t)n * n, 0.0);
    const int64_t blocks = (int64_t)((a.d + kBlock - 1) / kBlock);
#pragma omp parallel num_threads(team(a.d))
    {
      std::vector<double> local((size_t)n * n, 0.0);
#pragma omp for schedule(static)
      for (int64_t b = 0; b < blocks; ++b) {
        const size_t i0 = (size_t)b * kBlock, len = std::min(kBlock, a.d - i0);
        for (int j = 0; j < n; ++j) {
          const float* rj = a.grads + (size_t)j * a.d + i0;
          for (int k = 0; k <= j; ++k) {
            const float* rk = a.grads + (size_t)k * a.d + i0;
            double dot = 0.0;
#pragma omp simd reduction(+ : dot)
            for (size_t t = 0; t < len; ++t) dot += (double)rj[t] * rk[t];
            local[(size_t)j * n + k] += dot;
          }
        }
      }
#pragma omp critical
      for (size_t q = 0; q < local.size(); ++q) gram_[q] += local[q];
    }
    for (int j = 0; j < n; ++j)
      for (int k = j + 1; k < n; ++k) gram_[(size_t)j * n + k] = gram_[(size_t)k * n + j];
  }

  std::vector<double> gram_;
  std::vector<float> weights_;

  int threads() const {
#ifdef _OPENMP
    return threads_ > 0 ? threads_ : omp_get_max_threads();
#else
    return 1;
#endif
  }
  // Small steps run on one thread: waking a team costs more than it saves below ~64k
  // coordinates per thread, and on a busy machine a waiting thread stalls the whole step.
  int team(size_t d) const { return (int)std::max<size_t>(1, std::min<size_t>((size_t)threads(), d / 65536)); }
  int threads_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::unique_ptr<Backend>(new Cpu(threads)); }

const char* cpu_isa() { return has_avx2() ? "avx2+fma" : "generic"; }

}  // namespace vsgd
