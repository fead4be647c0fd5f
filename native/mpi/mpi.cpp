// The MPI addon, vsgd_mpi.node (docs/distributed.md): initializes MPI once per process and runs
// the few collectives a data-parallel step needs, on typed arrays. It is separate from vsgd.node,
// which never links libmpi, so the library loads where Open MPI is not installed.
//
// Every collective is non-blocking and polled against a deadline (VSGD_FD_MPI_TIMEOUT seconds),
// so that a rank that died, stalled or made a different call becomes an error here instead of a
// hang. After such an error the job cannot continue: no further MPI call is made, and the process
// aborts the job when it exits (MPI_Abort), which stops the other ranks too.
#include <dlfcn.h>
#include <fcntl.h>
#include <mpi.h>
#include <napi.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../addon/promise_worker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

// Process-wide state: MPI is initialized once, whichever thread or worker loads the addon first.
struct World {
  std::mutex mu;  // held around every MPI call, so MPI_THREAD_SERIALIZED is all MPI must provide
  bool tried = false, up = false, owned = false, finalized = false;
  int rank = 0, size = 1, provided = -1;
  int pending = 0;     // collectives started and not completed (finalizing then would hang)
  std::string reason;  // why MPI is not in use, when it is not
  std::string broken;  // why the job cannot continue, once a collective failed
};
World& world() {
  static World* w = new World();  // never destroyed: the exit handler reads it
  return *w;
}

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

std::string mpi_error(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(text, (size_t)len);
}

void at_exit() {
  World& w = world();
  std::lock_guard<std::mutex> g(w.mu);
  if (!w.owned || w.finalized) return;
  w.finalized = true;
  // the other ranks may be waiting in a collective that will never complete: end the job
  if (!w.broken.empty() || w.pending > 0) MPI_Abort(MPI_COMM_WORLD, 1);
  else MPI_Finalize();
}

// MPI_Init_thread once per process, and only under a launcher: a plain `node app.js` is one
// process with nothing to reduce, and never starts MPI.
void init_locked(World& w) {
  if (w.tried) return;
  w.tried = true;
  if (!launched()) {
    w.reason = "not started by an MPI launcher (mpirun): one process";
    return;
  }
  // Node loads addons with RTLD_LOCAL, which hides libmpi's symbols from plugins that MPI_Init
  // loads and that expect to find them globally (some Open MPI builds; Debian's 4.1 links its
  // plugins against libmpi and works either way): loading libmpi again with RTLD_GLOBAL shows them.
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  // Open MPI's own choice of algorithm for the non-blocking all-reduce was slower than its ring
  // on most buffer sizes of a step between 2 ranks of one machine (bench/MPI.md, section 1); the
  // ring is bandwidth-optimal for large buffers and every rank gets the same bits. A value set by
  // the user stands.
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
  int flag = 0;
  MPI_Initialized(&flag);
  if (!flag) {
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &w.provided) != MPI_SUCCESS) {
      w.reason = "MPI_Init_thread failed";
      return;
    }
    w.owned = true;
    std::atexit(at_exit);
  } else {
    MPI_Query_thread(&w.provided);  // someone else in this process started MPI
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  if (w.provided < MPI_THREAD_SERIALIZED) {
    w.reason = "MPI provides thread level " + std::to_string(w.provided) +
               " only; the asynchronous calls need MPI_THREAD_SERIALIZED";
    return;
  }
  w.up = true;
}

World& started() {
  World& w = world();
  std::lock_guard<std::mutex> g(w.mu);
  init_locked(w);
  return w;
}

double timeout_s() {
  const char* v = std::getenv("VSGD_FD_MPI_TIMEOUT");
  const double t = v ? std::atof(v) : 0.0;
  return t > 0.0 ? t : 300.0;
}

// ---- One collective: posted non-blocking, then polled until it completes or the deadline passes.
struct Job {
  virtual ~Job() = default;
  virtual const char* what() const = 0;
  // post the non-blocking call (MPI error code); `step` counts the calls of a multi-part job
  virtual int post(MPI_Comm c, int step, MPI_Request* r) = 0;
  virtual int parts() const { return 1; }
  virtual void between(int /*step*/) {}  // before part `step` > 0, outside the lock
  virtual void prepare() {}  // before the first part, and done() after the last (on the worker
  virtual void done() {}     // thread for the async form)
  virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

// Runs every part of `job` on `comm`; "" on success, else the error (the job is then broken).
std::string run(Job& job, MPI_Comm comm) {
  World& w = world();
  const double limit = timeout_s();
  job.prepare();
  for (int step = 0; step < job.parts(); ++step) {
    MPI_Request req = MPI_REQUEST_NULL;
    if (step > 0) job.between(step);
    {
      std::lock_guard<std::mutex> g(w.mu);
      if (!w.broken.empty()) return "MPI is unusable in this process after an earlier failure: " + w.broken;
      if (w.finalized) return "MPI was already finalized (the process is exiting)";
      const int rc = job.post(comm, step, &req);
      if (rc != MPI_SUCCESS) return w.broken = std::string(job.what()) + " failed: " + mpi_error(rc);
      ++w.pending;
    }
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      int flag = 0, rc;
      {
        std::lock_guard<std::mutex> g(w.mu);
        if (w.finalized) return "MPI was finalized while " + std::string(job.what()) + " was in flight";
        rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || flag) --w.pending;
      }
      if (rc != MPI_SUCCESS) {
        std::lock_guard<std::mutex> g(w.mu);
        return w.broken = std::string(job.what()) + " failed: " + mpi_error(rc);
      }
      if (flag) break;
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > limit) {
        std::lock_guard<std::mutex> g(w.mu);
        return w.broken = std::string(job.what()) + " on rank " + std::to_string(w.rank) + " of " +
                          std::to_string(w.size) + " did not complete within " + std::to_string((int)limit) +
                          " s (VSGD_FD_MPI_TIMEOUT): another rank died, stalled, or made a different call";
      }
      // each test moves a large reduction on by a fragment, so no sleeping between them; the
      // yield leaves the core to any other process that wants it
      std::this_thread::yield();
    }
  }
  job.done();
  return "";
}

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) return "a typed array of length " + std::to_string(v.As<Napi::TypedArray>().ElementLength());
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNumber()) return "the number " + std::to_string(v.As<Napi::Number>().DoubleValue());
  return "a value of another type";
}

// A Float32Array, Float64Array or Int32Array as MPI sees it.
struct View {
  char* data;
  size_t count, bytes;
  MPI_Datatype type;
  napi_typedarray_type kind;
};
View view(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (v.IsTypedArray()) {
    auto a = v.As<Napi::TypedArray>();
    const napi_typedarray_type kind = a.TypedArrayType();
    const MPI_Datatype type = kind == napi_float32_array   ? MPI_FLOAT
                              : kind == napi_float64_array ? MPI_DOUBLE
                              : kind == napi_int32_array   ? MPI_INT
                                                           : MPI_DATATYPE_NULL;
    if (type != MPI_DATATYPE_NULL)
      return View{static_cast<char*>(a.ArrayBuffer().Data()) + a.ByteOffset(), a.ElementLength(), a.ByteLength(), type, kind};
  }
  throw Napi::TypeError::New(env, std::string("Expected a Float32Array, Float64Array or Int32Array for ") + what +
                                      " but received " + describe(v));
}

size_t count_arg(const Napi::Env& env, const Napi::Value& v, size_t most) {
  if (v.IsUndefined()) return most;
  const double c = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
  if (!(c >= 0 && c <= (double)most && c == (double)(size_t)c && c <= 2147483647.0))
    throw Napi::RangeError::New(env, "Expected count to be an integer in [0, " + std::to_string(most) +
                                         "] but received " + describe(v));
  return (size_t)c;
}

// In place: buf[0 .. count) becomes the sum over the ranks.
struct Allreduce : Job {
  View v;
  int count;
  Allreduce(const View& v, size_t count) : v(v), count((int)count) {}
  const char* what() const override { return "MPI all-reduce"; }
  int post(MPI_Comm c, int, MPI_Request* r) override {
    return MPI_Iallreduce(MPI_IN_PLACE, v.data, count, v.type, MPI_SUM, c, r);
  }
};

// Every rank's `local` (the same length on every rank), rank after rank, into a new array.
struct Allgather : Job {
  View v;
  std::vector<char> out;  // `size` ranks' arrays
  Allgather(const View& v, int size, bool alone) : v(v), out(v.bytes * (size_t)size) {
    if (alone && v.bytes) std::memcpy(out.data(), v.data, v.bytes);
  }
  const char* what() const override { return "MPI all-gather"; }
  int post(MPI_Comm c, int, MPI_Request* r) override {
    return MPI_Iallgather(v.data, (int)v.count, v.type, out.data(), (int)v.count, v.type, c, r);
  }
  Napi::Value result(Napi::Env env) override {
    const size_t n = out.size() / (v.type == MPI_DOUBLE ? 8 : 4);
    auto buf = Napi::ArrayBuffer::New(env, out.size());
    if (!out.empty()) std::memcpy(buf.Data(), out.data(), out.size());
    napi_value arr;
    NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, v.kind, n, buf, 0, &arr), Napi::Value());
    return Napi::Value(env, arr);
  }
};

// The sorted union of every rank's indices: each rank's own set first (sorted, repeats dropped),
// then the sizes, then the sets.
struct Union : Job {
  std::vector<int32_t> mine, all;
  int n = 0;
  int size = 1;
  std::vector<int> counts, displs;
  const char* what() const override { return "MPI index union"; }
  int parts() const override { return 2; }
  void prepare() override {
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    n = (int)mine.size();
  }
  int post(MPI_Comm c, int step, MPI_Request* r) override {
    if (step == 0) {
      counts.assign((size_t)size, 0);
      return MPI_Iallgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, c, r);
    }
    displs.assign((size_t)size, 0);
    size_t total = 0;
    for (int k = 0; k < size; ++k) displs[(size_t)k] = (int)total, total += (size_t)counts[(size_t)k];
    all.resize(std::max<size_t>(total, 1));
    return MPI_Iallgatherv(mine.data(), n, MPI_INT, all.data(), counts.data(), displs.data(), MPI_INT, c, r);
  }
  void done() override {
    if (counts.empty()) return void(all = mine);  // one process
    size_t total = 0;
    for (int c : counts) total += (size_t)c;
    all.resize(total);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
  }
  Napi::Value result(Napi::Env env) override {
    auto out = Napi::Int32Array::New(env, all.size());
    if (!all.empty()) std::memcpy(out.Data(), all.data(), all.size() * sizeof(int32_t));
    return out;
  }
};

// ---- Shared memory between the ranks of one machine (docs/distributed.md, "The reduction").
// One mapping holds two sets of a segment per rank. A step writes its sums into the rank's own
// segment of one set; after a barrier every rank reads all segments of that set and adds them up,
// in rank order, as it loads them (wire.h: the reduction is folded into the update). Consecutive
// steps take turns between the sets, so that a rank writing its next sums never overwrites ones
// another rank is still reading: it has passed the last step's barrier, which every rank reached
// only after reading the set before. Ranks on several machines keep the all-reduce.
struct Shm {
  static constexpr size_t kHead = 4096;  // the cookie rank 0 writes, which the others check
  void* base = MAP_FAILED;
  size_t bytes = 0, floats = 0, stride = 0;  // stride: floats from one segment to the next
  int ranks = 0;
  ~Shm() {
    if (base != MAP_FAILED) munmap(base, bytes);
  }
  // segment r of set `set`
  float* segment(int set, int r) const {
    return reinterpret_cast<float*>(static_cast<char*>(base) + kHead) + ((size_t)set * ranks + r) * stride;
  }
};

bool shared_enabled() {
  const char* v = std::getenv("VSGD_FD_MPI_SHARED");
  return !(v && std::string(v) == "0");
}

// Collective: rank 0 creates the mapping and sends its name; every rank maps it and checks the
// cookie (a rank on another machine finds no such name, or another file); the mapping is used
// only if every rank has it, else every rank keeps the all-reduce.
struct SharedSetup : Job {
  int rank, size;
  size_t floats;
  std::shared_ptr<Shm>* slot;  // the communicator's, set when every rank has the mapping
  std::shared_ptr<Shm> shm;
  struct Name {
    char text[64];
    uint64_t cookie;
  } name{};
  int ok = 0;
  std::vector<int> oks;
  bool linked = false;
  SharedSetup(int rank, int size, size_t floats, std::shared_ptr<Shm>* slot)
      : rank(rank), size(size), floats(floats), slot(slot), oks((size_t)size, 0) {}
  ~SharedSetup() override { unlink(); }
  const char* what() const override { return "MPI shared-memory setup"; }
  int parts() const override { return 2; }
  void unlink() {
    if (linked) shm_unlink(name.text), linked = false;
  }
  bool map(int fd, bool create) {
    auto m = std::make_shared<Shm>();
    m->ranks = size, m->floats = floats, m->stride = (floats + 1023) / 1024 * 1024;
    m->bytes = Shm::kHead + (size_t)(2 * size) * m->stride * sizeof(float);
    struct stat st;
    // posix_fallocate reserves the pages now: a full /dev/shm is a refusal here, not a SIGBUS later
    if (create ? ftruncate(fd, (off_t)m->bytes) != 0 || posix_fallocate(fd, 0, (off_t)m->bytes) != 0
               : fstat(fd, &st) != 0 || (size_t)st.st_size != m->bytes)
      return false;
    m->base = mmap(nullptr, m->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (m->base == MAP_FAILED) return false;
    auto* cookie = static_cast<uint64_t*>(m->base);
    if (create) *cookie = name.cookie;
    else if (*cookie != name.cookie) return false;
    shm = m;
    return true;
  }
  void open(bool create) {
    const int fd = shm_open(name.text, create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
    if (fd < 0) return;
    linked = create;
    ok = map(fd, create) ? 1 : 0;
    close(fd);
  }
  void prepare() override {
    if (rank != 0 || !shared_enabled() || floats == 0) return;
    std::random_device rd;
    name.cookie = ((uint64_t)rd() << 32 | rd()) | 1;
    snprintf(name.text, sizeof name.text, "/vsgd-fd-%d-%016llx", (int)getpid(), (unsigned long long)name.cookie);
    open(true);
    if (!ok) name.text[0] = 0;
  }
  int post(MPI_Comm c, int step, MPI_Request* r) override {
    if (step == 0) return MPI_Ibcast(&name, (int)sizeof name, MPI_BYTE, 0, c, r);
    return MPI_Iallgather(&ok, 1, MPI_INT, oks.data(), 1, MPI_INT, c, r);
  }
  void between(int) override {
    name.text[sizeof name.text - 1] = 0;
    if (rank != 0 && shared_enabled() && name.text[0]) open(false);
  }
  void done() override {
    unlink();  // every rank that could map it has
    if (std::find(oks.begin(), oks.end(), 0) != oks.end()) shm.reset();
  }
  Napi::Value result(Napi::Env env) override {
    *slot = shm;
    if (!shm) return env.Null();
    auto* keep = new std::shared_ptr<Shm>(shm);  // the views keep the mapping
    auto buf = Napi::ArrayBuffer::New(env, shm->base, shm->bytes,
                                      [](Napi::Env, void*, std::shared_ptr<Shm>* k) { delete k; }, keep);
    auto at = [&](const float* p, size_t len) {
      return Napi::Float32Array::New(env, len, buf, (size_t)(reinterpret_cast<const char*>(p) - static_cast<char*>(shm->base)));
    };
    auto mine = Napi::Array::New(env, 2), all = Napi::Array::New(env, 2);
    for (int set = 0; set < 2; ++set) {
      mine.Set(set, at(shm->segment(set, rank), shm->floats));
      all.Set(set, at(shm->segment(set, 0), (size_t)(size - 1) * shm->stride + shm->floats));
    }
    auto o = Napi::Object::New(env);
    o.Set("mine", mine);
    o.Set("all", all);
    o.Set("stride", Napi::Number::New(env, (double)shm->stride));
    return o;
  }
};

struct Barrier : Job {
  const char* what() const override { return "MPI barrier"; }
  int post(MPI_Comm c, int, MPI_Request* r) override { return MPI_Ibarrier(c, r); }
};

// The barrier after which every rank's sums in shared memory are there to be read (Shm).
struct SharedSums : Barrier {
  const char* what() const override { return "MPI all-reduce through shared memory"; }
  int post(MPI_Comm c, int s, MPI_Request* r) override {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return Barrier::post(c, s, r);
  }
  void done() override { std::atomic_thread_fence(std::memory_order_seq_cst); }
};

struct DupWorld : Job {
  MPI_Comm out = MPI_COMM_NULL;
  const char* what() const override { return "MPI communicator duplication"; }
  int post(MPI_Comm c, int, MPI_Request* r) override { return MPI_Comm_idup(c, &out, r); }
};

// Runs a job on a libuv worker thread.
class JobWorker : public PromiseWorker {
 public:
  JobWorker(const Napi::CallbackInfo& info, std::unique_ptr<Job> job, MPI_Comm comm)
      : PromiseWorker(info), job_(std::move(job)), comm_(comm) {}

 protected:
  void Execute() override {
    const std::string why = run(*job_, comm_);
    if (!why.empty()) SetError(why);
  }
  Napi::Value Result(Napi::Env env) override { return job_->result(env); }

 private:
  std::unique_ptr<Job> job_;
  MPI_Comm comm_;
};

// One optimizer's communicator: a duplicate of MPI_COMM_WORLD, so that the collectives of
// several optimizers (or of their asynchronous calls) never match each other's. Constructing one
// is collective: every rank makes its communicators in the same order.
class Comm : public Napi::ObjectWrap<Comm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Comm",
                       {InstanceMethod("allreduce", &Comm::AllreduceSync),
                        InstanceMethod("allreduceAsync", &Comm::AllreduceAsync),
                        InstanceMethod("allgather", &Comm::AllgatherSync),
                        InstanceMethod("allgatherAsync", &Comm::AllgatherAsync),
                        InstanceMethod("union", &Comm::UnionSync), InstanceMethod("unionAsync", &Comm::UnionAsync),
                        InstanceMethod("shared", &Comm::SharedSync), InstanceMethod("sharedAsync", &Comm::SharedAsync),
                        InstanceMethod("shareSums", &Comm::ShareSumsSync),
                        InstanceMethod("shareSumsAsync", &Comm::ShareSumsAsync),
                        InstanceMethod("barrier", &Comm::BarrierSync), InstanceMethod("dispose", &Comm::Dispose),
                        InstanceAccessor("rank", &Comm::Rank, nullptr), InstanceAccessor("size", &Comm::Size, nullptr)});
  }

  explicit Comm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Comm>(info) {
    World& w = started();
    if (!w.up) return;  // one process: every collective is the identity
    DupWorld dup;
    const std::string why = run(dup, MPI_COMM_WORLD);
    if (!why.empty()) throw Napi::Error::New(info.Env(), why);
    comm_ = dup.out;
    rank_ = w.rank, size_ = w.size;
  }
  ~Comm() override { free_comm(); }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool disposed_ = false;
  std::shared_ptr<Shm> shm_;  // the ranks' shared memory, once shared() found every rank on it

  void free_comm() {
    if (comm_ == MPI_COMM_NULL) return;
    World& w = world();
    std::lock_guard<std::mutex> g(w.mu);
    if (!w.finalized && w.broken.empty()) MPI_Comm_free(&comm_);
    comm_ = MPI_COMM_NULL;
  }

  void live(Napi::Env env) {
    if (disposed_) throw Napi::Error::New(env, "This communicator was disposed");
  }

  Napi::Value sync(Napi::Env env, Job& job) {
    if (comm_ != MPI_COMM_NULL) {
      const std::string why = run(job, comm_);
      if (!why.empty()) throw Napi::Error::New(env, why);
    } else {
      job.prepare();
      job.done();
    }
    return job.result(env);
  }
  Napi::Value async(const Napi::CallbackInfo& info, std::unique_ptr<Job> job) {
    if (comm_ == MPI_COMM_NULL) {  // one process: nothing to wait for
      auto d = Napi::Promise::Deferred::New(info.Env());
      job->prepare();
      job->done();
      d.Resolve(job->result(info.Env()));
      return d.Promise();
    }
    auto* worker = new JobWorker(info, std::move(job), comm_);
    worker->Queue();
    return worker->Promise();
  }

  // allreduce(buf, count?): buf[0 .. count) summed over the ranks, in place
  std::unique_ptr<Job> allreduce_job(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    const View v = view(env, info[0], "buf");
    return std::make_unique<Allreduce>(v, count_arg(env, info[1], std::min<size_t>(v.count, 2147483647)));
  }
  Napi::Value AllreduceSync(const Napi::CallbackInfo& info) { return sync(info.Env(), *allreduce_job(info)); }
  Napi::Value AllreduceAsync(const Napi::CallbackInfo& info) { return async(info, allreduce_job(info)); }

  // shared(floats) -> { mine, sum } (Float32Arrays of `floats`: this rank's segment and the sum
  // segment) when every rank maps the same memory, else null (ranks on several machines, or
  // VSGD_FD_MPI_SHARED=0 on any rank). Collective.
  std::unique_ptr<Job> shared_job(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    if (shm_) throw Napi::Error::New(env, "This communicator already has its shared memory");
    const double f = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1.0;
    if (!(f >= 1 && f <= 1e12 && f == (double)(size_t)f))
      throw Napi::RangeError::New(env, "Expected floats to be a positive integer but received " + describe(info[0]));
    return std::make_unique<SharedSetup>(rank_, size_, (size_t)f, &shm_);
  }
  Napi::Value SharedSync(const Napi::CallbackInfo& info) {
    if (comm_ == MPI_COMM_NULL) return info.Env().Null();  // one process: nothing to share
    return sync(info.Env(), *shared_job(info));
  }
  Napi::Value SharedAsync(const Napi::CallbackInfo& info) {
    if (comm_ != MPI_COMM_NULL) return async(info, shared_job(info));
    auto d = Napi::Promise::Deferred::New(info.Env());
    d.Resolve(info.Env().Null());
    return d.Promise();
  }

  // shareSums(): every rank has written its sums into its segment of shared(); they may be read
  std::unique_ptr<Job> share_sums_job(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    if (!shm_) throw Napi::Error::New(env, "shareSums() needs the shared memory of shared()");
    return std::make_unique<SharedSums>();
  }
  Napi::Value ShareSumsSync(const Napi::CallbackInfo& info) { return sync(info.Env(), *share_sums_job(info)); }
  Napi::Value ShareSumsAsync(const Napi::CallbackInfo& info) { return async(info, share_sums_job(info)); }

  // allgather(local) -> every rank's `local`, rank after rank (the same length on every rank)
  std::unique_ptr<Job> allgather_job(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    return std::make_unique<Allgather>(view(env, info[0], "local"), size_, comm_ == MPI_COMM_NULL);
  }
  Napi::Value AllgatherSync(const Napi::CallbackInfo& info) { return sync(info.Env(), *allgather_job(info)); }
  Napi::Value AllgatherAsync(const Napi::CallbackInfo& info) { return async(info, allgather_job(info)); }

  // union(indices) -> the sorted union of every rank's indices (any order, repeats allowed)
  std::unique_ptr<Job> union_job(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "Expected an Int32Array for indices but received " + describe(info[0]));
    auto a = info[0].As<Napi::Int32Array>();
    auto job = std::make_unique<Union>();
    job->mine.assign(a.Data(), a.Data() + a.ElementLength());
    job->size = size_;
    return job;
  }
  Napi::Value UnionSync(const Napi::CallbackInfo& info) { return sync(info.Env(), *union_job(info)); }
  Napi::Value UnionAsync(const Napi::CallbackInfo& info) { return async(info, union_job(info)); }

  Napi::Value BarrierSync(const Napi::CallbackInfo& info) {
    live(info.Env());
    Barrier job;
    return sync(info.Env(), job);
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    shm_.reset();  // the views, while they live, keep the mapping
    free_comm();
    disposed_ = true;
    return info.Env().Undefined();
  }
  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), rank_); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), size_); }
};

// info() -> { compiled, available, reason?, rank, size, threadLevel, library }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = started();
  auto o = Napi::Object::New(env);
  o.Set("compiled", true);
  std::lock_guard<std::mutex> g(w.mu);
  const bool ok = w.up && w.broken.empty() && !w.finalized;
  o.Set("available", ok);
  if (!w.broken.empty()) o.Set("reason", "MPI is unusable after a failure: " + w.broken);
  else if (!w.reason.empty()) o.Set("reason", w.reason);
  o.Set("rank", w.rank);
  o.Set("size", w.size);
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string name(lib, (size_t)len);
  o.Set("library", name.substr(0, name.find_first_of(",\n")));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Comm", Comm::Define(env));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(vsgd_mpi, Init)
