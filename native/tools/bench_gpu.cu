// vsgd_bench_gpu: memory bandwidth of the fused CUDA step against a device-to-device copy.
//
// The step runs through Backend::step_device with the rows already on the device (in
// device_rows()) and theta left on the device, so only the kernel's own traffic is timed:
//   bytes = 4 * d * (rows read + 2 * (1 + state slots))      theta and state are read and written
// rows read = n gradient rows, plus n curvature rows for vSGD-fd's curvature steps. The copy
// peer is cudaMemcpy device-to-device of bytes/2 (it reads bytes/2 and writes bytes/2: the same
// traffic). Both are timed with CUDA events on the legacy stream (the backend's stream is a
// blocking one, so it orders with them): warm-up, then the median of --reps repeats. The step's
// time includes its launch, the counter read-back and the host synchronisation (tens of
// microseconds; visible only at small d).
//
// The -x1 rows time the one-coordinate-per-thread kernel (VSGD_FD_CUDA_SCALAR=1) beside the
// default four-coordinate one (16-byte accesses), for the same cases.
//
// A second table times the host path, step() with the rows in pageable host memory, to show
// what crossing the bus costs (rows host->device through the pinned staging, theta back).
//
// Usage: vsgd_bench_gpu [--min-log2 20] [--max-log2 28] [--reps 20] [--host-log2 24]
// Prints one "RESULT ..." line per measurement (machine-readable) and a table.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/backend.h"  // relative: see cmake/cuda.cmake on vsgd_math.h

namespace {

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

__global__ void fill(float* p, size_t len, uint32_t seed) {
  for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < len; k += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)k * 2654435761u ^ seed;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    p[k] = (float)(h & 0xffffff) / 8388608.0f - 1.0f;  // in [-1, 1)
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Median milliseconds of `fn` bracketed by events on the legacy stream.
template <class F>
double time_ms(F fn, int warm, int reps) {
  for (int i = 0; i < warm; ++i) fn();
  ck(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t a, b;
  ck(cudaEventCreate(&a), "cudaEventCreate");
  ck(cudaEventCreate(&b), "cudaEventCreate");
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    ck(cudaEventRecord(a, 0), "cudaEventRecord");
    fn();
    ck(cudaEventRecord(b, 0), "cudaEventRecord");
    ck(cudaEventSynchronize(b), "cudaEventSynchronize");
    float t = 0;
    ck(cudaEventElapsedTime(&t, a, b), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return median(ms);
}

struct Algo {
  const char* name;
  int algo;
  bool curv;
  bool reweight = false;  // eq. 5: the Gram pass reads the rows once more
  bool scalar = false;    // the one-coordinate-per-thread kernel (VSGD_FD_CUDA_SCALAR=1), for comparison
};

// A CUDA backend, with the one-coordinate kernel when `scalar` (the backend reads the variable
// when it is made).
std::unique_ptr<vsgd::Backend> make_backend(bool scalar) {
  if (scalar) setenv("VSGD_FD_CUDA_SCALAR", "1", 1);
  std::string why;
  auto be = vsgd::make_cuda_backend(why);
  if (scalar) unsetenv("VSGD_FD_CUDA_SCALAR");
  if (!be) throw std::runtime_error("make_cuda_backend: " + why);
  return be;
}

vsgd::Params params_for(int algo) {
  vsgd::Params P{};
  P.algo = algo;
  P.sparsity = vsgd::kDense;
  P.bootstrap = 10, P.slow_start = 2, P.eps = algo == vsgd::kAdam ? 1e-8f : 1e-5f, P.outlier_sigmas = 2;
  P.lr0 = 1e-3f, P.decay = 0, P.beta1 = 0.9f, P.beta2 = 0.999f;
  vsgd::set_time(P, 0);
  return P;
}

}  // namespace

int main(int argc, char** argv) {
  int min_log2 = 20, max_log2 = 28, reps = 20, host_log2 = 24;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--min-log2" && i + 1 < argc) min_log2 = std::atoi(argv[++i]);
    else if (a == "--max-log2" && i + 1 < argc) max_log2 = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--host-log2" && i + 1 < argc) host_log2 = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--min-log2 K] [--max-log2 K] [--reps R] [--host-log2 K]\n", argv[0]);
      return 2;
    }
  }
  const vsgd::CudaInfo ci = vsgd::cuda_info();
  if (!ci.available) {
    std::printf("vsgd_bench_gpu: CUDA unavailable (%s)\n", ci.reason.c_str());
    return 3;
  }
  std::printf("device: %s\n", ci.device.c_str());
  const Algo algos[] = {{"vsgdfd", vsgd::kVsgdFd, true},
                        {"vsgdfd-nocurv", vsgd::kVsgdFd, false},
                        {"vsgdfd-reweight", vsgd::kVsgdFd, true, true},
                        {"adam", vsgd::kAdam, false},
                        {"vsgdfd-x1", vsgd::kVsgdFd, true, false, true},
                        {"adam-x1", vsgd::kAdam, false, false, true}};
  struct Row {
    std::string algo;
    int n;
    size_t d;
    double bytes, step_ms, copy_ms;
  };
  std::vector<Row> rows;
  try {
    for (const Algo& al : algos)
      for (int n : {1, 10})
        for (int k = min_log2; k <= max_log2; k += 2) {
          const size_t d = size_t(1) << k;
          vsgd::Params P = params_for(al.algo);
          P.reweight = al.reweight;
          const size_t count = (size_t)vsgd::layout(P.algo, P.sparsity).count;
          const size_t nrows = (size_t)n * (al.curv ? 2 : 1);
          // vSGD-fd without curvature rows: leave bootstrap first with curvature steps, or every timed
          // step would be a bootstrap step that touches nothing
          const bool warm_curv = al.algo == vsgd::kVsgdFd && !al.curv;
          const size_t alloc_rows = warm_curv ? 2 * (size_t)n : nrows;
          const double bytes = 4.0 * (double)d * (double)(nrows + 2 * (1 + count) + (al.reweight ? n : 0));
          size_t free_b = 0, total_b = 0;
          ck(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
          const double need = std::max(4.0 * d * (alloc_rows + 1 + count), bytes);  // backend, then the copy
          if (need > 0.9 * (double)free_b) {
            std::printf("skip %s n=%d d=2^%d: needs %.1f GiB, %.1f GiB free\n", al.name, n, k, need / (1 << 30),
                        free_b / double(1 << 30));
            continue;
          }
          auto be = make_backend(al.scalar);
          std::vector<float> theta(d, 0.5f), state(count * d, 0.0f);  // fresh state: bootstraps first
          float* dr = be->device_rows(alloc_rows * d);
          fill<<<1024, 256>>>(dr, alloc_rows * d, 12345u);
          ck(cudaGetLastError(), "fill");
          ck(cudaDeviceSynchronize(), "fill");
          vsgd::StepArgs a{};
          a.theta = theta.data(), a.state = state.data(), a.d = d, a.n = n;
          a.grads = dr;
          a.extra = al.curv ? dr + (size_t)n * d : nullptr;
          vsgd::StepStats last{};
          if (warm_curv) {
            a.extra = dr + (size_t)n * d;
            for (int i = 0; i < 100 && last.touched != (int64_t)d; ++i) last = be->step_device(P, a, false);
            a.extra = nullptr;
          }
          const double step_ms = time_ms([&] { last = be->step_device(P, a, false); }, 3, reps);
          if (last.touched != (int64_t)d) std::printf("note: %s touched %lld of %zu\n", al.name, (long long)last.touched, d);
          be.reset();  // free the device state before the copy buffers
          const size_t half = (size_t)(bytes / 2);
          void *src = nullptr, *dst = nullptr;
          ck(cudaMalloc(&src, half), "cudaMalloc");
          ck(cudaMalloc(&dst, half), "cudaMalloc");
          ck(cudaMemset(src, 1, half), "cudaMemset");
          const double copy_ms =
              time_ms([&] { ck(cudaMemcpyAsync(dst, src, half, cudaMemcpyDeviceToDevice, 0), "cudaMemcpyAsync"); }, 3, reps);
          cudaFree(src);
          cudaFree(dst);
          rows.push_back({al.name, n, d, bytes, step_ms, copy_ms});
          std::printf("RESULT device algo=%s n=%d d=%zu bytes=%.0f step_ms=%.4f step_GBs=%.1f copy_ms=%.4f copy_GBs=%.1f\n",
                      al.name, n, d, bytes, step_ms, bytes / step_ms / 1e6, copy_ms, bytes / copy_ms / 1e6);
          std::fflush(stdout);
        }

    std::printf("\nfused step (rows on the device, theta left there) vs cudaMemcpy D2D of the same traffic\n");
    std::printf("%-14s %3s %10s %10s %10s %10s %10s %7s\n", "algo", "n", "d", "MiB moved", "step ms", "step GB/s",
                "copy GB/s", "ratio");
    for (const Row& r : rows)
      std::printf("%-14s %3d %10zu %10.1f %10.4f %10.1f %10.1f %7.2f\n", r.algo.c_str(), r.n, r.d, r.bytes / 1048576.0,
                  r.step_ms, r.bytes / r.step_ms / 1e6, r.bytes / r.copy_ms / 1e6, r.copy_ms / r.step_ms);

    // host path: rows from pageable host memory, theta back every step
    if (host_log2 > 0) {
      std::printf("\nhost path: step() with host rows (rows host->device via pinned staging, theta device->host)\n");
      std::printf("%-14s %3s %10s %12s %10s %12s\n", "algo", "n", "d", "bus MiB", "step ms", "bus GB/s");
      const size_t d = size_t(1) << host_log2;
      for (const Algo& al : algos)
        for (int n : {1, 10}) {
          if (al.scalar) continue;  // the host path is the bus's; the kernel does not matter there
          vsgd::Params P = params_for(al.algo);
          P.reweight = al.reweight;
          const size_t count = (size_t)vsgd::layout(P.algo, P.sparsity).count;
          const size_t nrows = (size_t)n * (al.curv ? 2 : 1);
          auto be = make_backend(false);
          std::vector<float> theta(d, 0.5f), state(count * d, 0.0f), host_rows(nrows * d);
          for (size_t k = 0; k < host_rows.size(); ++k) host_rows[k] = (float)((k * 2654435761u) % 2000) / 1000.0f - 1.0f;
          vsgd::StepArgs a{};
          a.theta = theta.data(), a.state = state.data(), a.d = d, a.n = n;
          a.grads = host_rows.data();
          a.extra = al.curv ? host_rows.data() + (size_t)n * d : nullptr;
          const double ms = time_ms([&] { be->step(P, a); }, 3, reps);
          const double bus = 4.0 * d * (nrows + 1);
          std::printf("%-14s %3d %10zu %12.1f %10.3f %12.1f\n", al.name, n, d, bus / 1048576.0, ms, bus / ms / 1e6);
          std::printf("RESULT host algo=%s n=%d d=%zu bus_bytes=%.0f step_ms=%.4f bus_GBs=%.1f\n", al.name, n, d, bus, ms,
                      bus / ms / 1e6);
        }
    }
  } catch (const std::exception& e) {
    std::printf("vsgd_bench_gpu failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
