// The interface the addon talks to: one fused pass per step, on the CPU or a GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vsgd_math.h"

namespace vsgd {

struct WireBuf;  // wire.h

struct StepStats {
  int64_t touched = 0, skipped = 0, outliers = 0, bootstrapping = 0;
  // one coordinate's outcome (Flags bits)
  void add(unsigned f) {
    touched += (f & kTouched) != 0;
    skipped += (f & kSkipped) != 0;
    outliers += (f & kOutlier) != 0;
    bootstrapping += (f & kBootstrapping) != 0;
  }
  StepStats& operator+=(const StepStats& o) {
    touched += o.touched, skipped += o.skipped, outliers += o.outliers, bootstrapping += o.bootstrapping;
    return *this;
  }
};
#ifdef _OPENMP
#pragma omp declare reduction(+ : StepStats : omp_out += omp_in)
#endif

// The state's field stride, in floats, for d coordinates as the library allocates the state
// (count fields of `ld` floats, the first d of each used): d rounded up to whole 64-byte lines, and
// a line more where that is a multiple of 4 KiB, so that the fields neither straddle lines nor
// all fall into the same cache sets (docs/performance.md, "Whole lines").
inline size_t state_stride(size_t d) {
  const size_t ld = (d + 15) / 16 * 16;
  return ld % 1024 == 0 && ld > 0 ? ld + 16 : ld;
}

// One step's inputs. theta and state are the caller's host buffers (d and count*ld floats);
// grads and extra are n rows of d floats (extra may be null: no curvature this step).
struct StepArgs {
  float* theta;
  float* state;
  size_t d;
  const float* grads;
  const float* extra;
  int n;
  // when not null, the step also writes the next probe point θ+δ here (d floats), so that
  // probe() needs no pass of its own; only backends with fuses_probe() do
  float* probe_out = nullptr;
  // with Params::reweight: the n row weights of eq. 5 (see reweight() in vsgd_math.h)
  const float* weights = nullptr;
  // the state's field stride in floats (0: d, the fields packed)
  size_t ld = 0;
};
inline size_t stride(const StepArgs& a) { return a.ld ? a.ld : a.d; }

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // whether step() honours StepArgs::probe_out
  virtual bool fuses_probe() const { return false; }
  // The fused statistics-and-update pass; writes theta and state in place.
  virtual StepStats step(const Params& P, const StepArgs& a) = 0;
  // out[i] = theta[i] + delta_i; grads may be null (then n is ignored).
  virtual void probe(const Params& P, const StepArgs& a, float* out) = 0;
  // The phases of a data-parallel step apart (traverse.h, "Phases"; wire.h): (a) the rows' sums
  // into `out`, nothing updated; (c) the update, or the probe point, from sums reduced over
  // `rows` rows in all (a.grads is not read). The CPU backend has them; the others refuse.
  virtual void sums(const Params& P, const StepArgs& a, const WireBuf& out) { (void)P, (void)a, (void)out, phased(); }
  virtual StepStats apply_sums(const Params& P, const StepArgs& a, int rows, bool curv, const WireBuf& in) {
    (void)P, (void)a, (void)rows, (void)curv, (void)in;
    return phased(), StepStats{};
  }
  virtual void probe_sums(const Params& P, const StepArgs& a, int rows, const WireBuf& in, float* out) {
    (void)P, (void)a, (void)rows, (void)in, (void)out, phased();
  }
  // probe() where out already holds the point the last step wrote (StepArgs::probe_out), which
  // is exact wherever bootstrap is over (δ = g): only the bootstrapping coordinates need the rows.
  // A backend may recompute everything: the other coordinates get the same values.
  virtual void patch_probe(const Params& P, const StepArgs& a, float* out) { probe(P, a, out); }

  // ---- Device residency (docs/cuda.md). The defaults are the CPU backend's: its theta and
  // state are the caller's host buffers, so there is nothing to read back or re-upload.
  //
  // True when theta and state live on a device between steps. Then the host state buffer is
  // stale after a step until read_state(); host theta is current after step() (it is copied
  // back every step) but not after step_device(.., false) until read_theta().
  virtual bool device_resident() const { return false; }
  // Copy the device's state (floats = count*d) into host_state. No-op if nothing is resident.
  virtual void read_state(float* host_state, size_t floats) { (void)host_state, (void)floats; }
  // Copy the device's theta (floats = d) into host_theta. No-op if nothing is resident.
  virtual void read_theta(float* host_theta, size_t floats) { (void)host_theta, (void)floats; }
  // The caller changed host theta and/or state: the next step()/probe() uploads both again.
  virtual void invalidate() {}
  // A device buffer of at least `floats` floats for gradient rows, owned by the backend (null on
  // the CPU). Valid until the next device_rows(), step(), probe() or destruction, any of which
  // may reallocate or overwrite it (step() and probe() stage their host rows there).
  virtual float* device_rows(size_t floats) { (void)floats; return nullptr; }
  // Page-locks a host buffer the caller will pass as rows again and again (the optimizer's own
  // row buffers), so that copies from it skip the staging buffers; unpin() before it is freed.
  // Returns false where there is nothing to gain (the CPU).
  virtual bool pin(void* p, size_t bytes) { (void)p, (void)bytes; return false; }
  virtual void unpin(void* p) { (void)p; }
  // step() for rows already on the device: a.grads and a.extra are device pointers (n rows of d
  // floats each, e.g. inside device_rows()); a.theta and a.state are the host buffers as in
  // step(), read only on the first upload. theta_to_host=false leaves theta on the device.
  virtual StepStats step_device(const Params& P, const StepArgs& a, bool theta_to_host) {
    (void)P, (void)a, (void)theta_to_host;
    throw std::logic_error(std::string("step_device needs a device backend, not '") + name() + "'");
  }

 private:
  void phased() const { throw std::logic_error(std::string("the phased step runs on the CPU, not on '") + name() + "'"); }
};

// The CPU kernels' instruction-set builds, in order; a CPU backend runs the highest one that it
// is allowed and that the processor has (the self-check compares them with each other).
enum CpuIsa : int { kIsaGeneric = 0, kIsaAvx2 = 1, kIsaAvx512 = 2, kIsaBest = kIsaAvx512 };
std::unique_ptr<Backend> make_cpu_backend(int threads, int max_isa = kIsaBest);
struct CpuOptions {
  int threads = 0;  // 0: OpenMP's default
  int max_isa = kIsaBest;
  int fused_rows = -1, chunk_rows = -1;  // the dense pass's shape (cpu_isa.h's Tuning); -1: the default
  bool eta_in_pass = false;               // measurement only (vsgd_bench_cpu --eta): see Tuning
  int pair_rows = -1;                     // from this many rows two lane groups at a time (Tuning); -1: the default
  int ahead = -1;                         // how far on the dense pass prefetches (Tuning); -1: the default
};
std::unique_ptr<Backend> make_cpu_backend(const CpuOptions& o);
// the instruction-set build the CPU kernels run with, at most max_isa: its level (CpuIsa) and its
// name ("avx512", "avx2+fma" or "generic")
int cpu_isa_level(int max_isa = kIsaBest);
const char* cpu_isa(int max_isa = kIsaBest);

// What a read of the state gets that the passes do not write: eta, where stores_eta(P) is false,
// from the other fields of the host state and n, the row count of the last update (traverse.h).
// Call it on the host state after a step (after read_state() on a device-resident backend).
void derive_eta(const Params& P, int n, float* state, size_t d, size_t ld, int threads);

// Eq. 5 for n rows of d floats: fills w (n weights) from the rows' Gram matrix (kept in `gram`
// for reuse) and returns n_eff; the CPU backend's reweighting and the addon's reweight() share it.
float reweight_rows(const float* rows, int n, size_t d, int threads, std::vector<double>& gram, float* w);
// The same in double, with the direction Σ_j w_j ∇_j (d values): for analysis (Figure 3).
double reweight_rows(const float* rows, int n, size_t d, double* w, double* dir);

// a = b + s*c over n floats (the bandwidth probe of the benchmarks)
void triad(float* a, const float* b, const float* c, float s, size_t n, int threads);
// every one of `count` arrays read and written at each of the nnz indices, and out written
// there (the random-update probe of the sparse benchmark)
void scatter_probe(float* const* arrays, int count, float* out, const int32_t* idx, size_t nnz);

// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with huge pages, and with
// `collapse` to move pages already written onto them (pages.cpp); returns how many it advised
// (0 where the system has no such advice).
int advise_huge_pages(void* p, size_t bytes, bool collapse);

// The CPU standing in for a device-resident backend (mirror.cpp): for tests on machines without a GPU.
std::unique_ptr<Backend> make_mirror_backend(int threads);

// CUDA: null with `why` filled when not compiled in or no usable device.
std::unique_ptr<Backend> make_cuda_backend(std::string& why);
struct CudaInfo {
  bool compiled;
  bool available;
  std::string reason;
  std::string device;
};
CudaInfo cuda_info();

}  // namespace vsgd
