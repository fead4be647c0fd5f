// vsgd_bench_cpu: the dense CPU pass against the triad a = b + s·c, side by side in one process,
// for the design questions of docs/performance.md (npm run bench measures the library through
// Node; this tool varies what Node cannot):
//   --shape    the fused pass (every row's sums in registers) against the blocked one (rows in
//              chunks through a per-block buffer) for n = 1 .. 32: where the crossover in n lies
//   --cache    the same pass on a d that fits in L2, one thread, fastest of many calls: the
//              arithmetic alone
//   --eta      the pass as it is (eta derived when the state is read) against the pass that
//              loads and stores eta too (docs/performance.md)
//   --pairs    the fused pass one lane group at a time against two (each row's cache line read
//              whole before the next row's), at every n given
//   --isas     every instruction-set build this processor runs (cpu_isa.h), at every n given
//   --offset K theta on a 64-byte boundary and every other array (the triad's too) K floats past
//              one, instead of where the allocator puts them: 0 lines them all up, as the
//              optimizer allocates its own arrays; 4 leaves the others 16 bytes off theta's lines
//   --plus K   d = 2^log2 + K: the rows (and with --packed the state's fields) no longer a power of
//              two apart
//   --packed   the state's fields d floats apart, instead of state_stride(d) as the library keeps them
//   --huge     every array on 2 MiB pages (Linux's transparent huge pages, where the system allows them)
//   --ahead K,.. the pass prefetching K coordinates ahead (0: not at all), one variant per K (with
//              --isas, per build and K)
// Arrays are allocated one by one and are as large as the benchmark's (d = 2^24 by default), so
// that they line up in memory as the JavaScript ones do. The variants of one n take turns on the
// same arrays, call by call; every timing is the median of --reps calls after one untimed call,
// and ratios are bandwidth over the triad's, measured before them.
//
// Usage: vsgd_bench_cpu [--log2 24] [--threads 0] [--reps 9] [--algo vsgdfd|adam|sgd]
//                       [--n 1,10] [--shape] [--chunk 8] [--cache] [--eta] [--pairs] [--isas] [--offset K]
//                       [--plus K] [--packed] [--huge] [--ahead K,..]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool g_min = false;  // --cache: the fastest call (the arithmetic alone), not the median

template <class F> double median_ms(F fn, int reps) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double a = now_ms();
    fn();
    t.push_back(now_ms() - a);
  }
  std::sort(t.begin(), t.end());
  return g_min ? t[0] : t[t.size() / 2];
}

// one allocation per array, as Float32Arrays are; g_offset >= 0: each array starts that many
// floats past a 64-byte boundary, theta (line_up) on one (-1: where the allocator puts them)
int g_offset = -1;
bool g_packed = false;  // --packed
bool g_huge = false;    // --huge: every array on 2 MiB pages
struct Arrays {
  std::vector<std::unique_ptr<float[]>> keep;
  float* make(size_t n, float fill, bool line_up = false) {
    keep.emplace_back(new float[n + (g_offset >= 0 ? 32 : 0)]);
    float* p = keep.back().get();
    if (g_offset >= 0) p += ((64 - (uintptr_t)p % 64) % 64) / sizeof(float) + (line_up ? 0 : g_offset);
    if (g_huge) vsgd::advise_huge_pages(p, n * sizeof(float), false);
    std::fill(p, p + n, fill);
    return p;
  }
};

// minimal bytes per coordinate (the benchmark's count: eta is not in it)
double bytes_per(int algo, int n) {
  if (algo == vsgd::kAdam) return 24 + 4.0 * n;  // θ, m, v read and written
  if (algo == vsgd::kSgd) return 8 + 4.0 * n;
  return 48 + 8.0 * n;
}

struct Run {
  int algo;
  size_t d;
  int threads, reps;
};

// Milliseconds per step of `algo` with n rows on each backend, past bootstrap: the backends take
// turns on the same arrays, call by call, so that whatever else the machine does falls on all
// of them alike; median per backend.
std::vector<double> step_ms(const Run& R, const std::vector<std::unique_ptr<vsgd::Backend>>& bes, int n) {
  Arrays A;
  vsgd::Params P{};
  P.algo = R.algo;
  P.sparsity = vsgd::kDense;
  P.bootstrap = 1, P.slow_start = 2, P.eps = R.algo == vsgd::kAdam ? 1e-8f : 1e-5f, P.outlier_sigmas = 2;
  P.lr0 = 1e-3f, P.beta1 = 0.9f, P.beta2 = 0.999f;
  const size_t count = (size_t)vsgd::layout(P.algo, P.sparsity).count;
  float* theta = A.make(R.d, 0.5f, true);
  const size_t ld = g_packed ? R.d : vsgd::state_stride(R.d);
  float* state = A.make(std::max<size_t>(count, 1) * ld, 0.0f);
  float* grads = A.make((size_t)n * R.d, 0.0f);
  const bool fd = R.algo == vsgd::kVsgdFd;
  float* extra = fd ? A.make((size_t)n * R.d, 0.0f) : nullptr;
  float* probe = fd ? A.make(R.d, 0.0f) : nullptr;
  for (size_t k = 0; k < (size_t)n * R.d; ++k) {
    grads[k] = (float)((k * 2654435761u) % 2000) / 1000.0f - 1.0f;
    if (extra) extra[k] = grads[k] * 1.01f + 1e-3f;
  }
  vsgd::StepArgs a{};
  a.theta = theta, a.state = state, a.d = R.d, a.ld = ld, a.grads = grads, a.extra = extra, a.n = n, a.probe_out = probe;
  int t = 1;
  auto step = [&](vsgd::Backend& be) {
    vsgd::set_time(P, t++);
    be.step(P, a);
  };
  for (const auto& be : bes) step(*be);  // bootstrap ends at the first (bootstrap = 1)
  std::vector<std::vector<double>> ms(bes.size());
  for (int r = 0; r < R.reps; ++r)
    for (size_t k = 0; k < bes.size(); ++k) {
      const double t0 = now_ms();
      step(*bes[k]);
      ms[k].push_back(now_ms() - t0);
    }
  std::vector<double> out;
  for (auto& v : ms) {
    std::sort(v.begin(), v.end());
    out.push_back(g_min ? v[0] : v[v.size() / 2]);
  }
  return out;
}

double triad_ms(const Run& R) {
  Arrays A;
  float *a = A.make(R.d, 0), *b = A.make(R.d, 1), *c = A.make(R.d, 2);
  return median_ms([&] { vsgd::triad(a, b, c, 0.5f, R.d, R.threads); }, 2 * R.reps);
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  for (size_t p = 0; p < s.size();) {
    const size_t q = s.find(',', p);
    v.push_back(std::atoi(s.substr(p, q - p).c_str()));
    p = q == std::string::npos ? s.size() : q + 1;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int log2d = 24, chunk = -1, plus = 0;
  Run R{vsgd::kVsgdFd, 0, 0, 9};
  std::vector<int> ns = {1, 10}, aheads;
  bool shape = false, cache = false, eta = false, pairs = false, isas = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--log2") log2d = std::atoi(next().c_str());
    else if (a == "--threads") R.threads = std::atoi(next().c_str());
    else if (a == "--reps") R.reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--n") ns = parse_list(next());
    else if (a == "--chunk") chunk = std::atoi(next().c_str());
    else if (a == "--shape") shape = true;
    else if (a == "--cache") cache = true;
    else if (a == "--eta") eta = true;
    else if (a == "--pairs") pairs = true;
    else if (a == "--isas") isas = true;
    else if (a == "--offset") g_offset = std::atoi(next().c_str()) % 16;
    else if (a == "--plus") plus = std::max(0, std::atoi(next().c_str()));
    else if (a == "--packed") g_packed = true;
    else if (a == "--huge") g_huge = true;
    else if (a == "--ahead") aheads = parse_list(next());
    else if (a == "--algo") {
      const std::string v = next();
      R.algo = v == "adam" ? vsgd::kAdam : v == "sgd" ? vsgd::kSgd : vsgd::kVsgdFd;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--log2 24] [--threads 0] [--reps 9] [--algo vsgdfd|adam|sgd] [--n 1,10] [--shape] "
                   "[--chunk 8] [--cache] [--eta] [--pairs] [--isas] [--offset K] [--plus K] [--packed] [--huge] [--ahead K,..]\n",
                   argv[0]);
      return 2;
    }
  }
  if (cache) log2d = std::min(log2d, 13), R.threads = 1, R.reps = std::max(R.reps, 500), g_min = true;
  if (shape && ns.size() <= 2) ns = {1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32};
  R.d = (size_t(1) << log2d) + plus;
  const double tri = triad_ms(R), tri_gbs = 12.0 * R.d / tri / 1e6;
  std::printf("vsgd_bench_cpu: d = 2^%d + %d, threads %d (0: all), isa %s, %s of %d\n", log2d, plus, R.threads, vsgd::cpu_isa(),
              g_min ? "fastest" : "median", R.reps);
  std::printf("triad %.3f ms, %.1f GB/s\n", tri, tri_gbs);
  std::printf("%-8s %4s %-10s %10s %9s %8s %9s\n", "algo", "n", "pass", "ms", "GB/s", "x triad", "ns/coord");
  const char* name = R.algo == vsgd::kAdam ? "adam" : R.algo == vsgd::kSgd ? "sgd" : "vsgdfd";
  // the variants of one n, each a backend
  struct Variant {
    std::string name;
    vsgd::CpuOptions o;
  };
  for (int n : ns) {
    std::vector<Variant> vs;
    vsgd::CpuOptions o;
    o.threads = R.threads;
    o.chunk_rows = chunk;
    if (shape) {
      o.fused_rows = 1 << 30, vs.push_back({"fused", o});
      o.fused_rows = 0, vs.push_back({"blocked", o});
    } else if (pairs) {
      o.pair_rows = 1 << 30, vs.push_back({"1 group", o});
      o.pair_rows = 1, vs.push_back({"2 groups", o});
    } else if (isas) {
      for (int isa = vsgd::kIsaGeneric; isa <= vsgd::cpu_isa_level(); ++isa) {
        o.max_isa = isa;
        if (aheads.empty()) vs.push_back({vsgd::cpu_isa(isa), o});
        for (int k : aheads) o.ahead = k, vs.push_back({std::string(vsgd::cpu_isa(isa)) + " ahead " + std::to_string(k), o});
      }
    } else if (!aheads.empty()) {
      for (int k : aheads) o.ahead = k, vs.push_back({"ahead " + std::to_string(k), o});
    } else if (eta) {
      vs.push_back({"eta read", o});
      o.eta_in_pass = true, vs.push_back({"eta stored", o});
    } else {
      vs.push_back({"default", o});
    }
    std::vector<std::unique_ptr<vsgd::Backend>> bes;
    for (const Variant& v : vs) bes.push_back(vsgd::make_cpu_backend(v.o));
    const std::vector<double> ms = step_ms(R, bes, n);
    for (size_t k = 0; k < vs.size(); ++k) {
      const double gbs = bytes_per(R.algo, n) * R.d / ms[k] / 1e6;
      std::printf("%-8s %4d %-10s %10.3f %9.1f %8.2f %9.2f\n", name, n, vs[k].name.c_str(), ms[k], gbs, gbs / tri_gbs,
                  ms[k] * 1e6 / R.d);
    }
    std::fflush(stdout);
  }
  return 0;
}
