// CUDA backend: theta and the optimizer state live on the device between steps; each step moves
// only the gradient rows host->device and theta device->host (docs/cuda.md), and runs one fused
// launch, four coordinates per thread (one where d or the alignment does not allow 16-byte
// accesses), through traverse.h's sequence like the CPU traversal, in the same order, so that
// both round alike (docs/cuda.md, "Rounding").
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backend.h"
#include "traverse.h"

namespace vsgd {
namespace {

constexpr int kThreads = 256;
constexpr size_t kChunk = size_t(8) << 20;  // bytes per pinned staging buffer (two of them)

std::string error_text(cudaError_t e) {
  return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + " failed: " + error_text(e));
}

bool scalar_requested() {
  const char* v = std::getenv("VSGD_FD_CUDA_SCALAR");
  return v && std::string(v) == "1";
}

// Counter slots in the small device array the kernel adds into.
enum { kCntTouched, kCntSkipped, kCntOutliers, kCntBoot, kCounters };

// This thread's counts of the four flags, summed over the block (warp sums, then one barrier),
// one atomicAdd per counter and block. Every thread of the block must arrive here.
__device__ __forceinline__ void add_counts(const unsigned (&c)[kCounters], unsigned long long* counters) {
  __shared__ unsigned warp_sum[kThreads / 32][kCounters];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int k = 0; k < kCounters; ++k) {
    unsigned w = c[k];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) w += __shfl_down_sync(0xffffffffu, w, off);
    if (lane == 0) warp_sum[warp][k] = w;
  }
  __syncthreads();
  if (threadIdx.x < kCounters) {
    unsigned long long total = 0;
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sum[w][threadIdx.x];
    if (total) atomicAdd(&counters[threadIdx.x], total);
  }
}
__device__ __forceinline__ void count_flags(unsigned f, unsigned (&c)[kCounters]) {
  c[kCntTouched] += (f & kTouched) != 0;
  c[kCntSkipped] += (f & kSkipped) != 0;
  c[kCntOutliers] += (f & kOutlier) != 0;
  c[kCntBoot] += (f & kBootstrapping) != 0;
}

// The fused step, one coordinate per thread through traverse.h's sequence, the rows summed in
// row order as the CPU sums them: for any d and alignment.
template <int ALGO, int SP, int NO>
__global__ void __launch_bounds__(kThreads)
    step_kernel(const Params P, const StepK K, const PlaceT<NO> at, const DenseRows r, const int n,
                unsigned long long* __restrict__ counters) {
  const size_t i = (size_t)blockIdx.x * kThreads + threadIdx.x;
  unsigned c[kCounters] = {0, 0, 0, 0};
  if (i < at.d) {
    SumsT<float> s = sums_zero<float>();
    add_rows<ALGO, SP, float>(P, s, r, i, 0, n);
    count_flags(flags_of(finish<ALGO, SP, float>(P, K, s, at, i)), c);
  }
  add_counts(c, counters);
}

// Four consecutive coordinates of one thread in registers, between their 16-byte loads and
// stores: the Place of traverse.h's sequence for step_kernel4 (k = 0..3, unrolled, so that every
// index is a constant and nothing goes to local memory).
template <int ALGO, int SP> struct Quad {
  static constexpr Layout L = layout(ALGO, SP);
  static constexpr int kSlots = L.count > 0 ? L.count : 1;
  float th[4], f[kSlots][4], probe[4];
  bool want;
  size_t i0;  // the first coordinate's index
  template <int SLOT, class F> __device__ __forceinline__ float get(size_t k) const {
    if constexpr (SLOT < 0) return 0.0f;
    else return f[SLOT][k];
  }
  template <int SLOT, class F> __device__ __forceinline__ void set(size_t k, F v) {
    if constexpr (SLOT >= 0) f[SLOT][k] = v;
  }
  template <class F> __device__ __forceinline__ float get_theta(size_t k) const { return th[k]; }
  template <class F> __device__ __forceinline__ void set_theta(size_t k, F v) { th[k] = v; }
  __device__ __forceinline__ bool wants_probe() const { return want; }
  template <class F> __device__ __forceinline__ void set_probe(size_t k, F v) { probe[k] = v; }
  template <class F> __device__ __forceinline__ uint32_t index(size_t k) const { return (uint32_t)(i0 + k); }
};

__device__ __forceinline__ void unpack(float4 v, float (&a)[4]) { a[0] = v.x, a[1] = v.y, a[2] = v.z, a[3] = v.w; }
__device__ __forceinline__ float4 pack(const float (&a)[4]) { return make_float4(a[0], a[1], a[2], a[3]); }
// rows are read once: streaming loads, not kept in L2
__device__ __forceinline__ void row4(const float* p, float (&a)[4]) { unpack(__ldcs(reinterpret_cast<const float4*>(p)), a); }

// The fused step, four coordinates per thread with 16-byte loads and stores of every stream: d a
// multiple of 4 and every array 16-byte aligned (Cuda::vectorized()). Each thread has its whole
// state and its rows' loads in flight before it computes.
template <int ALGO, int SP>
__global__ void __launch_bounds__(kThreads)
    step_kernel4(const Params P, const StepK K, const Place at, const DenseRows r, const int n,
                 unsigned long long* __restrict__ counters) {
  using Q = Quad<ALGO, SP>;
  const size_t i = 4 * ((size_t)blockIdx.x * kThreads + threadIdx.x);
  unsigned c[kCounters] = {0, 0, 0, 0};
  if (i < at.d) {
    Q q;
    // every field the step reads (eta only where it stores it: stores_eta)
    const bool eta = stores_eta(P);
    auto used = [&](int slot) { return slot < Q::L.count && (slot != Q::L.eta || eta); };
#pragma unroll
    for (int slot = 0; slot < Q::kSlots; ++slot) {
      q.f[slot][0] = q.f[slot][1] = q.f[slot][2] = q.f[slot][3] = 0.0f;
      if (used(slot)) unpack(*reinterpret_cast<const float4*>(at.state + (size_t)slot * at.ld + i), q.f[slot]);
    }
    unpack(*reinterpret_cast<const float4*>(at.theta + i), q.th);
    q.want = at.probe_out != nullptr;
    q.i0 = i;
    SumsT<float> s[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) s[k] = sums_zero<float>();
    const float* e = uses_sparsity(ALGO) ? r.extra : nullptr;
#pragma unroll 2
    for (int j = 0; j < n; ++j) {
      float x[4], y[4];
      row4(r.grads + (size_t)j * r.d + i, x);
      if (e) row4(e + (size_t)j * r.d + i, y);
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        add_grad<SP>(s[k], x[k]);
        if (r.weights) add_dir(s[k], (double)r.weights[j], x[k]);
        if (e) add_curv<ALGO, SP>(P, s[k], x[k], y[k]);
      }
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) count_flags(flags_of(finish<ALGO, SP, float>(P, K, s[k], q, (size_t)k)), c);
#pragma unroll
    for (int slot = 0; slot < Q::kSlots; ++slot)
      if (used(slot)) *reinterpret_cast<float4*>(at.state + (size_t)slot * at.ld + i) = pack(q.f[slot]);
    *reinterpret_cast<float4*>(at.theta + i) = pack(q.th);
    if (q.want && needs_offset(ALGO)) __stcs(reinterpret_cast<float4*>(at.probe_out + i), pack(q.probe));
  }
  add_counts(c, counters);
}

// out[i] = theta[i] + delta_i, as the CPU's probe pass.
template <int ALGO, int SP>
__global__ void __launch_bounds__(kThreads)
    probe_kernel(const Params P, const StepK K, const Place at, const DenseRows r, const int n,
                 float* __restrict__ out) {
  const size_t i = (size_t)blockIdx.x * kThreads + threadIdx.x;
  if (i >= at.d) return;
  SumsT<float> s = sums_zero<float>();
  if (r.grads) add_rows<ALGO, SP, float>(P, s, r, i, 0, n);
  out[i] = probe_point<ALGO, SP, float>(P, K, s, at, i);
}

unsigned grid_for(size_t threads) { return (unsigned)((threads + kThreads - 1) / kThreads); }

template <int ALGO, int SP> struct LaunchStep {
  static void run(bool four, const Params& P, const StepK& K, const Place& at, const DenseRows& r, int n,
                  unsigned long long* counters, cudaStream_t stream) {
    constexpr int eta = layout(ALGO, SP).eta;  // left alone where a read derives it (stores_eta)
    if (four) step_kernel4<ALGO, SP><<<grid_for(at.d / 4), kThreads, 0, stream>>>(P, K, at, r, n, counters);
    else if (stores_eta(P)) step_kernel<ALGO, SP, -1><<<grid_for(at.d), kThreads, 0, stream>>>(P, K, at, r, n, counters);
    else
      step_kernel<ALGO, SP, eta><<<grid_for(at.d), kThreads, 0, stream>>>(
          P, K, PlaceT<eta>{at.theta, at.state, at.d, at.ld, at.probe_out}, r, n, counters);
  }
};
template <int ALGO, int SP> struct LaunchProbe {
  static void run(const Params& P, const StepK& K, const Place& at, const DenseRows& r, int n, float* out,
                  cudaStream_t stream) {
    probe_kernel<ALGO, SP><<<grid_for(at.d), kThreads, 0, stream>>>(P, K, at, r, n, out);
  }
};

// ---- Gram matrix of the n rows for reweighting (eq. 5), the CPU's gram_matrix() on the device:
// non-finite entries as 0, products of floats exact in double and summed in double; only the order of the sums
// differs from the CPU (docs/cuda.md). Each block stages a tile of kTile coordinates of all n
// rows in shared memory and each thread keeps up to kPairsPerThread of the n(n+1)/2 pairs (j >= k)
// in registers; blockIdx.y picks the range of pairs, blocks along x stride over the coordinates.
constexpr int kPairsPerThread = 4;
constexpr size_t kGramShared = 48 * 1024;

// tile width for n rows: what fits in the default 48 KiB of shared memory, at most 128
int gram_tile(int n) { return (int)std::min<size_t>(128, kGramShared / sizeof(float) / (size_t)n - 1); }

__device__ __forceinline__ void pair_of(int p, int& j, int& k) {
  j = (int)((sqrt(8.0 * p + 1.0) - 1.0) * 0.5);
  while (j * (j + 1) / 2 > p) --j;  // sqrt's rounding, either way
  while ((j + 1) * (j + 2) / 2 <= p) ++j;
  k = p - j * (j + 1) / 2;
}

__global__ void __launch_bounds__(kThreads)
    gram_kernel(const float* __restrict__ rows, const int n, const size_t d, const int tile, double* __restrict__ G) {
  extern __shared__ float sh[];  // n rows of `tile` floats, stride tile + 1 (fewer bank conflicts)
  const int stride = tile + 1, pairs = n * (n + 1) / 2;
  int pj[kPairsPerThread], pk[kPairsPerThread];
  double acc[kPairsPerThread];
  for (int u = 0; u < kPairsPerThread; ++u) {
    const int p = (blockIdx.y * kPairsPerThread + u) * kThreads + threadIdx.x;
    pj[u] = -1, pk[u] = 0, acc[u] = 0.0;
    if (p < pairs) pair_of(p, pj[u], pk[u]);
  }
  for (size_t c0 = (size_t)blockIdx.x * tile; c0 < d; c0 += (size_t)gridDim.x * tile) {
    const int len = (int)min((size_t)tile, d - c0);
    __syncthreads();  // the previous tile is consumed
    for (int q = threadIdx.x; q < n * tile; q += kThreads) {
      const int j = q / tile, t = q - j * tile;
      sh[j * stride + t] = t < len ? (float)gram_entry(rows[(size_t)j * d + c0 + t]) : 0.0f;
    }
    __syncthreads();
    for (int u = 0; u < kPairsPerThread; ++u) {
      if (pj[u] < 0) continue;
      const float *a = sh + pj[u] * stride, *b = sh + pk[u] * stride;
      double dot = 0.0;
      for (int t = 0; t < len; ++t) dot += (double)a[t] * (double)b[t];
      acc[u] += dot;
    }
  }
  for (int u = 0; u < kPairsPerThread; ++u)
    if (pj[u] >= 0 && acc[u] != 0.0) atomicAdd(&G[pj[u] * n + pk[u]], acc[u]);
}

// The baselines take every row (docs/algorithm.md, "The baselines"): sparsity applies to vSGD-fd and vSGD only,
// as in the CPU backend, which runs the baselines' dense kernels whatever it is given.
Params normalized(const Params& P) {
  Params Q = P;
  if (!uses_sparsity(Q.algo)) Q.sparsity = kDense;
  return Q;
}

// A device allocation that only grows.
template <class T> struct DevBufT {
  T* p = nullptr;
  size_t cap = 0;  // elements
  void reserve(size_t count) {
    if (count <= cap) return;
    release();
    check(cudaMalloc(&p, count * sizeof(T)), "cudaMalloc");
    cap = count;
  }
  void release() {
    if (p) cudaFree(p);
    p = nullptr;
    cap = 0;
  }
};
using DevBuf = DevBufT<float>;

class Cuda final : public Backend {
 public:
  explicit Cuda(int dev) : dev_(dev) {
    try {
      use();
      // A blocking stream (not cudaStreamNonBlocking): work on the legacy default stream orders
      // with it, so a tool can bracket a call with events on stream 0.
      check(cudaStreamCreate(&stream_), "cudaStreamCreate");
      for (int k = 0; k < 2; ++k) {
        check(cudaMallocHost(&stage_[k], kChunk), "cudaMallocHost");
        check(cudaEventCreateWithFlags(&staged_[k], cudaEventDisableTiming), "cudaEventCreate");
      }
      check(cudaMalloc(&d_counters_, kCounters * sizeof(unsigned long long)), "cudaMalloc");
      check(cudaMallocHost(&h_counters_, kCounters * sizeof(unsigned long long)), "cudaMallocHost");
    } catch (...) {
      release();
      throw;
    }
  }
  ~Cuda() override { release(); }

  const char* name() const override { return "cuda"; }
  bool device_resident() const override { return resident_; }
  bool fuses_probe() const override { return true; }

  StepStats step(const Params& P0, const StepArgs& a) override {
    use();
    Params P = normalized(P0);
    const Layout L = layout(P.algo, P.sparsity);
    if (!a.theta) throw std::invalid_argument("step: theta is null");
    bind(a, (size_t)L.count);
    if (a.d == 0) return StepStats{};
    const bool curv = a.extra != nullptr && uses_sparsity(P.algo);
    const size_t rows = rows_floats(a);
    float* dr = device_rows(rows * (curv ? 2 : 1));
    h2d(dr, a.grads, rows);
    if (curv) h2d(dr + rows, a.extra, rows);
    const float* w = reweight(P, a, dr);
    launch_step(P, dr, curv ? dr + rows : nullptr, a.n, curv, w, a.probe_out != nullptr);
    d2h(a.theta, d_theta_.p, d_);
    probe_to_host(P, a);
    return finish();
  }

  StepStats step_device(const Params& P0, const StepArgs& a, bool theta_to_host) override {
    use();
    Params P = normalized(P0);
    const Layout L = layout(P.algo, P.sparsity);
    bind(a, (size_t)L.count);
    if (a.d == 0) return StepStats{};
    const bool curv = a.extra != nullptr && uses_sparsity(P.algo);
    if (a.n > 0) expect_device(a.grads, "grads");
    if (curv) expect_device(a.extra, "extra");
    const float* w = reweight(P, a, a.grads);
    launch_step(P, a.grads, curv ? a.extra : nullptr, a.n, curv, w, a.probe_out != nullptr);
    if (theta_to_host) {
      if (!a.theta) throw std::invalid_argument("step_device: theta_to_host needs a host theta");
      d2h(a.theta, d_theta_.p, d_);
    }
    probe_to_host(P, a);
    return finish();
  }

  // Like the CPU backend, writes nothing for the baselines, which have no probe point.
  void probe(const Params& P0, const StepArgs& a, float* out) override {
    use();
    if (!out) throw std::invalid_argument("probe: out is null");
    const Params P = normalized(P0);
    if (!uses_sparsity(P.algo)) return;
    const Layout L = layout(P.algo, P.sparsity);
    bind(a, (size_t)L.count);
    if (a.d == 0) return;
    const bool have = a.grads != nullptr && a.n > 0;
    const size_t rows = have ? rows_floats(a) : 0;
    float* dr = device_rows(rows + a.d);
    float* dout = dr + rows;
    if (have) h2d(dr, a.grads, rows);
    const DenseRows r{have ? dr : nullptr, nullptr, nullptr, d_};
    dispatch<LaunchProbe>(P.algo, P.sparsity, P, step_k(have ? a.n : 0, false), Place{d_theta_.p, d_state_.p, d_, ld_, nullptr},
                          r, have ? a.n : 0, dout, stream_);
    check(cudaGetLastError(), "probe kernel launch");
    d2h(out, dout, d_);
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  void read_state(float* host_state, size_t floats) override {
    if (!resident_) return;
    use();
    if (floats != count_ * ld_)
      throw std::invalid_argument("read_state: expected " + std::to_string(count_ * ld_) + " floats but got " +
                                  std::to_string(floats));
    d2h(host_state, d_state_.p, floats);
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  void read_theta(float* host_theta, size_t floats) override {
    if (!resident_) return;
    use();
    if (floats != d_)
      throw std::invalid_argument("read_theta: expected " + std::to_string(d_) + " floats but got " +
                                  std::to_string(floats));
    d2h(host_theta, d_theta_.p, floats);
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  void invalidate() override { resident_ = false; }

  bool pin(void* p, size_t bytes) override {
    check(cudaSetDevice(dev_), "cudaSetDevice");
    check(cudaHostRegister(p, bytes, cudaHostRegisterDefault), "cudaHostRegister");
    pinned_.push_back({static_cast<const char*>(p), bytes});
    return true;
  }
  void unpin(void* p) override {
    for (size_t k = 0; k < pinned_.size(); ++k) {
      if (pinned_[k].first != p) continue;
      cudaSetDevice(dev_);
      if (stream_) cudaStreamSynchronize(stream_);
      cudaHostUnregister(p);
      pinned_.erase(pinned_.begin() + (long)k);
      return;
    }
  }

  float* device_rows(size_t floats) override {
    use();
    rows_.reserve(std::max<size_t>(floats, 1));
    return rows_.p;
  }

 private:
  void use() { check(cudaSetDevice(dev_), "cudaSetDevice"); }

  static size_t rows_floats(const StepArgs& a) {
    if (a.n < 0) throw std::invalid_argument("n must not be negative");
    if (a.n > 0 && !a.grads) throw std::invalid_argument("grads is null but n > 0");
    return (size_t)a.n * a.d;
  }

  static void expect_device(const float* p, const char* what) {
    cudaPointerAttributes attr{};
    const cudaError_t e = cudaPointerGetAttributes(&attr, p);
    if (e != cudaSuccess || (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)) {
      cudaGetLastError();  // clear a non-sticky error from the query
      throw std::invalid_argument(std::string("step_device: ") + what + " is not a device pointer");
    }
  }

  // Make the device copy of theta and state current: upload on the first call, after
  // invalidate(), or when the caller hands other host buffers or another size.
  void bind(const StepArgs& a, size_t count) {
    const bool same = resident_ && a.d == d_ && stride(a) == ld_ && count == count_ && (!a.theta || a.theta == host_theta_) &&
                      (!a.state || a.state == host_state_);
    if (same) return;
    resident_ = false;
    if (a.d > 0 && (!a.theta || (count > 0 && !a.state)))
      throw std::invalid_argument("the first step or probe needs the host theta and state to upload");
    d_ = a.d;
    ld_ = stride(a);
    count_ = count;
    host_theta_ = a.theta;
    host_state_ = a.state;
    d_theta_.reserve(std::max<size_t>(d_, 1));
    d_state_.reserve(std::max<size_t>(count_ * ld_, 1));
    h2d(d_theta_.p, a.theta, d_);
    if (count_ > 0) h2d(d_state_.p, a.state, count_ * ld_);
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    resident_ = true;
  }

  // Eq. 5 for the n rows at `rows` (device): the Gram matrix on the device, the weights and n_eff
  // on the host by the same reweight() as the CPU backend (O(n^2), from n*n doubles), the
  // weights back to the device. Sets P.neff; returns the device weights, or null without
  // Params::reweight (then StepArgs::weights must be null too: weights come from the rows here).
  const float* reweight(Params& P, const StepArgs& a, const float* rows) {
    if (a.weights) throw std::invalid_argument("step: the CUDA backend computes the reweighting weights itself");
    if (!P.reweight || a.n <= 0) return nullptr;
    const int n = a.n;
    const int tile = n < (int)(kGramShared / sizeof(float)) ? gram_tile(n) : 0;
    if (tile < 1)
      throw std::invalid_argument("reweight on CUDA takes at most " + std::to_string(kGramShared / sizeof(float) / 2) +
                                  " rows per step, not " + std::to_string(n));
    const size_t nn = (size_t)n * n;
    d_gram_.reserve(nn);
    d_weights_.reserve((size_t)n);
    check(cudaMemsetAsync(d_gram_.p, 0, nn * sizeof(double), stream_), "cudaMemsetAsync");
    const int pairs = n * (n + 1) / 2, per_block = kThreads * kPairsPerThread;
    const size_t tiles = (d_ + tile - 1) / tile;
    const dim3 grid((unsigned)std::min<size_t>(std::max<size_t>(tiles, 1), 1024), (unsigned)((pairs + per_block - 1) / per_block));
    const size_t shared = (size_t)n * (tile + 1) * sizeof(float);
    gram_kernel<<<grid, kThreads, shared, stream_>>>(rows, n, d_, tile, d_gram_.p);
    check(cudaGetLastError(), "gram kernel launch");
    gram_.resize(nn);
    check(cudaMemcpyAsync(gram_.data(), d_gram_.p, nn * sizeof(double), cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "gram");
    for (int j = 0; j < n; ++j)  // the kernel filled the lower triangle
      for (int k = j + 1; k < n; ++k) gram_[(size_t)j * n + k] = gram_[(size_t)k * n + j];
    weights_.resize(n);
    P.neff = (float)vsgd::reweight(gram_.data(), n, weights_.data());
    check(cudaMemcpyAsync(d_weights_.p, weights_.data(), (size_t)n * sizeof(float), cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync");
    return d_weights_.p;
  }

  // want_probe: StepArgs::probe_out was given; only vSGD-fd has a probe point to write
  void launch_step(const Params& P, const float* g, const float* x, int n, bool curv,
                   const float* weights, bool want_probe) {
    float* pout = nullptr;
    if (want_probe && needs_offset(P.algo)) {
      d_probe_.reserve(d_);
      pout = d_probe_.p;
    }
    check(cudaMemsetAsync(d_counters_, 0, kCounters * sizeof(unsigned long long), stream_), "cudaMemsetAsync");
    const Place at{d_theta_.p, d_state_.p, d_, ld_, pout};
    const DenseRows r{g, curv ? x : nullptr, P.reweight ? weights : nullptr, d_};
    dispatch<LaunchStep>(P.algo, P.sparsity, vectorized(at, r), P, step_k(n, curv), at, r, n, d_counters_, stream_);
    check(cudaGetLastError(), "step kernel launch");
    check(cudaMemcpyAsync(h_counters_, d_counters_, kCounters * sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                          stream_),
          "cudaMemcpyAsync");
  }

  // Whether step_kernel4 may run: d a multiple of 4 and every array it reads or writes 16-byte
  // aligned (the backend's own buffers are; rows handed to step_device() may not be), unless
  // VSGD_FD_CUDA_SCALAR=1 asked for the one-coordinate kernel (read when the backend is made;
  // vsgd_bench_gpu compares the two).
  bool vectorized(const Place& at, const DenseRows& r) const {
    auto aligned = [](const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    return !scalar_only_ && at.d % 4 == 0 && at.ld % 4 == 0 && aligned(at.theta) && aligned(at.state) && aligned(at.probe_out) &&
           aligned(r.grads) && aligned(r.extra);
  }

  // the fused probe point (StepArgs::probe_out, host memory), written by the step kernel
  void probe_to_host(const Params& P, const StepArgs& a) {
    if (a.probe_out && needs_offset(P.algo)) d2h(a.probe_out, d_probe_.p, d_);
  }

  StepStats finish() {
    check(cudaStreamSynchronize(stream_), "step");  // also reports errors raised inside the kernel
    StepStats s;
    s.touched = (int64_t)h_counters_[kCntTouched];
    s.skipped = (int64_t)h_counters_[kCntSkipped];
    s.outliers = (int64_t)h_counters_[kCntOutliers];
    s.bootstrapping = (int64_t)h_counters_[kCntBoot];
    return s;
  }

  // whether [p, p + bytes) lies inside a buffer the caller pinned (pin())
  bool is_pinned(const void* p, size_t bytes) const {
    const char* c = static_cast<const char*>(p);
    for (const auto& r : pinned_)
      if (c >= r.first && c + bytes <= r.first + r.second) return true;
    return false;
  }

  // Host -> device through the two pinned buffers: the memcpy into one overlaps the DMA out of
  // the other. Returns once the source may be reused; the DMA may still be in flight.
  void h2d(float* dst, const float* src, size_t floats) {
    const size_t bytes = floats * sizeof(float);
    if (is_pinned(src, bytes)) {  // page-locked already: one direct DMA
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
      return;
    }
    const char* s = reinterpret_cast<const char*>(src);
    char* t = reinterpret_cast<char*>(dst);
    int k = 0;
    for (size_t off = 0; off < bytes; off += kChunk, k ^= 1) {
      const size_t len = std::min(kChunk, bytes - off);
      check(cudaEventSynchronize(staged_[k]), "cudaEventSynchronize");  // buffer k's last DMA is done
      std::memcpy(stage_[k], s + off, len);
      check(cudaMemcpyAsync(t + off, stage_[k], len, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
      check(cudaEventRecord(staged_[k], stream_), "cudaEventRecord");
    }
  }

  // Device -> host the same way: chunk c+1's DMA overlaps the memcpy out of chunk c.
  // Returns with every byte in dst (it waits for the stream's work up to the last chunk).
  void d2h(float* dst, const float* src, size_t floats) {
    const size_t bytes = floats * sizeof(float);
    const char* s = reinterpret_cast<const char*>(src);
    char* t = reinterpret_cast<char*>(dst);
    const size_t chunks = (bytes + kChunk - 1) / kChunk;
    auto issue = [&](size_t c) {
      const size_t off = c * kChunk, len = std::min(kChunk, bytes - off);
      check(cudaMemcpyAsync(stage_[c & 1], s + off, len, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
      check(cudaEventRecord(staged_[c & 1], stream_), "cudaEventRecord");
    };
    if (chunks == 0) return;
    issue(0);
    for (size_t c = 0; c < chunks; ++c) {
      if (c + 1 < chunks) issue(c + 1);  // its buffer held chunk c-1, drained last iteration
      check(cudaEventSynchronize(staged_[c & 1]), "cudaEventSynchronize");
      const size_t off = c * kChunk, len = std::min(kChunk, bytes - off);
      std::memcpy(t + off, stage_[c & 1], len);
    }
  }

  void release() noexcept {
    cudaSetDevice(dev_);
    if (stream_) cudaStreamSynchronize(stream_);
    for (const auto& r : pinned_) cudaHostUnregister(const_cast<char*>(r.first));
    pinned_.clear();
    d_theta_.release();
    d_state_.release();
    d_probe_.release();
    rows_.release();
    d_gram_.release();
    d_weights_.release();
    for (int k = 0; k < 2; ++k) {
      if (stage_[k]) cudaFreeHost(stage_[k]);
      if (staged_[k]) cudaEventDestroy(staged_[k]);
      stage_[k] = nullptr;
      staged_[k] = nullptr;
    }
    if (d_counters_) cudaFree(d_counters_);
    if (h_counters_) cudaFreeHost(h_counters_);
    if (stream_) cudaStreamDestroy(stream_);
    d_counters_ = nullptr;
    h_counters_ = nullptr;
    stream_ = nullptr;
    cudaGetLastError();  // leave no error behind for the next caller
  }

  int dev_;
  bool scalar_only_ = scalar_requested();
  cudaStream_t stream_ = nullptr;
  void* stage_[2] = {nullptr, nullptr};
  cudaEvent_t staged_[2] = {nullptr, nullptr};
  unsigned long long* d_counters_ = nullptr;
  unsigned long long* h_counters_ = nullptr;
  DevBuf d_theta_, d_state_, d_probe_, rows_, d_weights_;
  DevBufT<double> d_gram_;
  std::vector<double> gram_;    // host copy of the Gram matrix (reweighting)
  std::vector<float> weights_;  // host copy of the weights: pageable, so the upload is synchronous
  std::vector<std::pair<const char*, size_t>> pinned_;  // host regions page-locked by pin()
  bool resident_ = false;
  size_t d_ = 0, ld_ = 0, count_ = 0;  // ld_: the state's field stride
  const float* host_theta_ = nullptr;
  const float* host_state_ = nullptr;
};

std::string device_name(int dev) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
    cudaGetLastError();
    return "device " + std::to_string(dev);
  }
  char mem[32];
  std::snprintf(mem, sizeof mem, "%.0f GiB", (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " + mem + ")";
}

}  // namespace

CudaInfo cuda_info() {
  CudaInfo info{true, false, "", ""};
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    info.reason = error_text(e);
    return info;
  }
  if (count == 0) {
    info.reason = "no CUDA device found";
    return info;
  }
  info.device = device_name(0);
  // The build carries machine code / PTX for some architectures only (CMAKE_CUDA_ARCHITECTURES).
  cudaFuncAttributes fa{};
  e = cudaFuncGetAttributes(&fa, step_kernel<kVsgdFd, kDense, -1>);
  if (e != cudaSuccess) {
    cudaGetLastError();
    info.reason = "the CUDA kernels cannot run on " + info.device + ": " + error_text(e) +
                  " (rebuild with CMAKE_CUDA_ARCHITECTURES naming this device's architecture)";
    return info;
  }
  info.available = true;
  return info;
}

std::unique_ptr<Backend> make_cuda_backend(std::string& why) {
  const CudaInfo ci = cuda_info();
  if (!ci.available) {
    why = ci.reason;
    return nullptr;
  }
  try {
    return std::unique_ptr<Backend>(new Cuda(0));
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
}

}  // namespace vsgd
