// CPU backend: OpenMP over blocks of coordinates; the per-block kernels come from the
// instruction-set build chosen at run time (AVX-512, else AVX2+FMA, where the processor has it).
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

bool has_avx512() {
#if defined(VSGD_HAVE_AVX512) && (defined(__GNUC__) || defined(__clang__))
  // (the compiler's check includes the operating system's support for the 512-bit registers)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

// (asked on every call: the answers are cached by the compiler's runtime, and the addon keeps no
// process-global mutable state of its own)
int isa_level(int max_isa) {
  const int best = has_avx512() ? kIsaAvx512 : has_avx2() ? kIsaAvx2 : kIsaGeneric;
  return std::min(best, max_isa);
}

Kernels pick_kernels(int algo, int sparsity, int max_isa) {
  switch (isa_level(max_isa)) {
#ifdef VSGD_HAVE_AVX512
    case kIsaAvx512: return avx512::kernels(algo, sparsity);
#endif
#ifdef VSGD_HAVE_AVX2
    case kIsaAvx2: return avx2::kernels(algo, sparsity);
#endif
    default: return generic::kernels(algo, sparsity);
  }
}

// The partial dot product of two rows over one block; `clean`: the block holds no non-finite
// entry, so gram_entry() (a compare and select per element) can be skipped.
double block_dot(const float* a, const float* b, size_t len, bool clean) {
  double dot = 0.0;
  if (clean) {
#pragma omp simd reduction(+ : dot)
    for (size_t t = 0; t < len; ++t) dot += (double)a[t] * b[t];
  } else {
#pragma omp simd reduction(+ : dot)
    for (size_t t = 0; t < len; ++t) dot += gram_entry(a[t]) * gram_entry(b[t]);
  }
  return dot;
}

// Gram matrix of the n rows (O(n² d)): blocked over coordinates so each row is read from
// memory once, every pair's partial dot product taken from cache, summed in double (products of
// floats are exact in double). Non-finite entries count as 0 (gram_entry); a block is scanned
// for them once (O(n) per coordinate) so that the O(n²) products of a clean block go unmasked.
void gram_matrix(const float* rows, int n, size_t d, int threads, std::vector<double>& G) {
  G.assign((size_t)n * n, 0.0);
  const int64_t blocks = (int64_t)((d + kBlock - 1) / kBlock);
#pragma omp parallel num_threads(threads)
  {
    std::vector<double> local((size_t)n * n, 0.0);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const size_t i0 = (size_t)b * kBlock, len = std::min(kBlock, d - i0);
      int bad = 0;
      for (int j = 0; j < n; ++j) {
        const float* rj = rows + (size_t)j * d + i0;
#pragma omp simd reduction(| : bad)
        for (size_t t = 0; t < len; ++t) bad |= (int)(gram_entry(rj[t]) != rj[t]);  // NaN != NaN too
      }
      for (int j = 0; j < n; ++j) {
        const float* rj = rows + (size_t)j * d + i0;
        for (int k = 0; k <= j; ++k) local[(size_t)j * n + k] += block_dot(rj, rows + (size_t)k * d + i0, len, !bad);
      }
    }
#pragma omp critical
    for (size_t q = 0; q < local.size(); ++q) G[q] += local[q];
  }
  for (int j = 0; j < n; ++j)
    for (int k = j + 1; k < n; ++k) G[(size_t)j * n + k] = G[(size_t)k * n + j];
}

}  // namespace

float reweight_rows(const float* rows, int n, size_t d, int threads, std::vector<double>& gram, float* w) {
  gram_matrix(rows, n, d, threads > 0 ? threads : 1, gram);
  return (float)reweight(gram.data(), n, w);
}

double reweight_rows(const float* rows, int n, size_t d, double* w, double* dir) {
  std::vector<double> gram;
  gram_matrix(rows, n, d, 1, gram);
  const double neff = reweight(gram.data(), n, w);
  for (size_t i = 0; i < d; ++i) {
    dir[i] = 0.0;
    for (int j = 0; j < n; ++j) dir[i] += w[j] * rows[(size_t)j * d + i];
  }
  return neff;
}

namespace {

class Cpu final : public Backend {
 public:
  explicit Cpu(const CpuOptions& o) : o_(o) {
    if (o.fused_rows >= 0) tuning_.fused_rows = o.fused_rows;
    if (o.chunk_rows > 0) tuning_.chunk_rows = o.chunk_rows;
    tuning_.eta_in_pass = o.eta_in_pass;
    if (o.pair_rows >= 0) tuning_.pair_rows = o.pair_rows;
    if (o.ahead >= 0) tuning_.ahead = o.ahead;
  }
  const char* name() const override { return "cpu"; }
  bool fuses_probe() const override { return true; }

  StepStats step(const Params& P0, const StepArgs& a0) override {
    Params P = P0;
    StepArgs a = a0;
    if (P.reweight) {
      weights_.resize(a.n);
      P.neff = reweight_rows(a.grads, a.n, a.d, team(a.d), gram_, weights_.data());
      a.weights = weights_.data();
    }
    const StepRangeFn fn = pick_kernels(P.algo, P.sparsity, o_.max_isa).step;
    const StepK K = step_k(a.n, uses_sparsity(P.algo) && a.extra != nullptr);
    const Tuning T = tuning_;
    return each_range(a.d, [&](size_t i0, size_t i1) { return fn(P, K, a, i0, i1, T); });
  }

  void probe(const Params& P, const StepArgs& a, float* out) override {
    probe_with(pick_kernels(P.algo, P.sparsity, o_.max_isa).probe, P, a, out);
  }

  void sums(const Params& P, const StepArgs& a, const WireBuf& out) override {
    const SumsRangeFn fn = pick_kernels(P.algo, P.sparsity, o_.max_isa).sums;
    const StepK K = step_k(a.n, uses_sparsity(P.algo) && a.extra != nullptr);
    const Tuning T = tuning_;
    each_range(a.d, [&](size_t i0, size_t i1) { return fn(P, K, a, i0, i1, T, out), StepStats{}; });
  }
  StepStats apply_sums(const Params& P, const StepArgs& a, int rows, bool curv, const WireBuf& in) override {
    const WireRangeFn fn = pick_kernels(P.algo, P.sparsity, o_.max_isa).wire_step;
    const StepK K = step_k(rows, uses_sparsity(P.algo) && curv);
    return each_range(a.d, [&](size_t i0, size_t i1) { return fn(P, K, a, i0, i1, in); });
  }
  void probe_sums(const Params& P, const StepArgs& a, int rows, const WireBuf& in, float* out) override {
    const WireProbeRangeFn fn = pick_kernels(P.algo, P.sparsity, o_.max_isa).wire_probe;
    if (!fn) return;
    const StepK K = step_k(rows, false);
    each_range(a.d, [&](size_t i0, size_t i1) { return fn(P, K, a, i0, i1, in, out), StepStats{}; });
  }
  void patch_probe(const Params& P, const StepArgs& a, float* out) override {
    probe_with(pick_kernels(P.algo, P.sparsity, o_.max_isa).patch, P, a, out);
  }

 private:
  std::vector<double> gram_;
  std::vector<float> weights_;

  void probe_with(ProbeRangeFn fn, const Params& P, const StepArgs& a, float* out) {
    if (!fn) return;
    const StepK K = step_k(a.grads ? a.n : 0, false);
    each_range(a.d, [&](size_t i0, size_t i1) {
      fn(P, K, a, i0, i1, out);
      return StepStats{};
    });
  }

  // fn(i0, i1) over [0, d) in ranges of kRange coordinates handed out to the team as they
  // finish (a thread slowed by other work on the machine does not hold up the others), with
  // the StepStats of the calls added up. A range is long enough that the
  // hardware prefetchers see long streams, and a multiple of 16 floats (one cache line).
  template <class Fn> StepStats each_range(size_t d, Fn&& fn) {
    constexpr size_t kRange = size_t(1) << 15;
    const int64_t ranges = (int64_t)((d + kRange - 1) / kRange);
    StepStats s;
#pragma omp parallel for schedule(dynamic, 1) num_threads(team(d)) reduction(+ : s)
    for (int64_t k = 0; k < ranges; ++k) {
      const size_t i0 = (size_t)k * kRange;
      s += fn(i0, std::min(d, i0 + kRange));
    }
    return s;
  }

  int threads() const {
#ifdef _OPENMP
    return o_.threads > 0 ? o_.threads : omp_get_max_threads();
#else
    return 1;
#endif
  }
  // Small steps run on one thread: waking a team costs more than it saves below ~64k
  // coordinates per thread, and on a busy machine a waiting thread stalls the whole step.
  int team(size_t d) const { return (int)std::max<size_t>(1, std::min<size_t>((size_t)threads(), d / 65536)); }
  CpuOptions o_;
  Tuning tuning_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads, int max_isa) {
  CpuOptions o;
  o.threads = threads, o.max_isa = max_isa;
  return make_cpu_backend(o);
}
std::unique_ptr<Backend> make_cpu_backend(const CpuOptions& o) { return std::unique_ptr<Backend>(new Cpu(o)); }

int cpu_isa_level(int max_isa) { return isa_level(max_isa); }
const char* cpu_isa(int max_isa) {
  static const char* const names[] = {"generic", "avx2+fma", "avx512"};
  return names[isa_level(max_isa)];
}

Kernels cpu_kernels(int algo, int sparsity) { return pick_kernels(algo, sparsity, kIsaBest); }

void derive_eta(const Params& P, int n, float* state, size_t d, size_t ld, int threads) {
  const auto fn = pick_kernels(P.algo, P.sparsity, kIsaBest).eta;
  if (!fn || stores_eta(P) || !state) return;
  constexpr size_t kRange = size_t(1) << 16;
  const int64_t ranges = (int64_t)((d + kRange - 1) / kRange);
  int t = 1;
#ifdef _OPENMP
  t = threads > 0 ? threads : omp_get_max_threads();
#endif
  t = (int)std::max<int64_t>(1, std::min<int64_t>(t, ranges));
#pragma omp parallel for schedule(static) num_threads(t) if (t > 1)
  for (int64_t k = 0; k < ranges; ++k) fn(P, (float)n, state, ld, (size_t)k * kRange, std::min(d, (size_t)(k + 1) * kRange));
}

}  // namespace vsgd
