// Collective communication for data-parallel training: a thin layer over libtorch's c10d (TCPStore for
// rendezvous, ProcessGroupGloo on the CPU, ProcessGroupNCCL through ls_dist_nccl.cpp on CUDA builds).
// No training logic here. Compiled only when the c10d and gloo headers are found (ShimBuilder treats
// this file as optional, like the CUDA helpers); Java treats these symbols as optional
// (org.lorascripts.ffi.DistApi).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "ls_dist.h"
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>

namespace {

struct LsGroup {
  c10::intrusive_ptr<c10d::Store> store;
  LsBackendPtr backend;
  int rank;
  int size;
  std::chrono::milliseconds timeout;
  std::string name;
};

// Waits for one collective; a failure (a peer that died, a timeout) is rethrown by wait() as an exception
// with the backend's message, which LS_CATCH turns into a status.
void ls_wait(const c10::intrusive_ptr<c10d::Work>& work, const LsGroup* g, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    std::ostringstream m;
    m << g->name << " " << what << ": " << e.what();
    throw std::runtime_error(m.str());
  }
}

// What travels: Gloo has no bfloat16 (nor half in every build), so those buckets go as float32 (exact
// for a broadcast; a sum in float32 is at least as accurate) and are cast back.
at::Tensor ls_wire(const LsGroup* g, const at::Tensor& buf) {
  bool narrow = buf.scalar_type() == at::kBFloat16 || buf.scalar_type() == at::kHalf;
  return g->name == "gloo" && narrow ? buf.to(at::kFloat) : buf;
}

// Splits the tensors into buckets of one dtype and device, each at most capBytes (a bigger tensor gets a
// bucket of its own); order within a bucket is the caller's order, the same on every rank. `order` lists the
// indices to place (all of them in order when empty). With runs, a tensor only joins the newest bucket of its
// dtype and device, so each bucket is a run of consecutive tensors of `order` (what the overlapped sum needs:
// buckets fill in the order backward produces gradients), and the first bucket is capped at firstCapBytes
// (as DDP's first_bucket_bytes_cap: the first gradients of backward leave early).
std::vector<std::vector<size_t>> ls_buckets(const std::vector<at::Tensor>& ts, int64_t capBytes,
                                            const std::vector<size_t>& order = {}, bool runs = false,
                                            int64_t firstCapBytes = -1) {
  std::vector<std::vector<size_t>> out;
  std::vector<int64_t> bytes;
  std::vector<char> closed;
  for (size_t j = 0; j < (order.empty() ? ts.size() : order.size()); j++) {
    size_t i = order.empty() ? j : order[j];
    const auto& t = ts[i];
    int64_t b = t.numel() * (int64_t)t.element_size();
    bool placed = false;
    for (size_t k = 0; k < out.size(); k++) {
      if (closed[k]) continue;
      const auto& first = ts[out[k][0]];
      if (first.scalar_type() != t.scalar_type() || first.device() != t.device()) continue;
      int64_t cap = k == 0 && firstCapBytes >= 0 ? firstCapBytes : capBytes;
      if (runs && bytes[k] + b > cap) closed[k] = 1;
      if (bytes[k] + b <= cap) {
        out[k].push_back(i);
        bytes[k] += b;
        placed = true;
        break;
      }
    }
    if (!placed) {
      out.push_back({i});
      bytes.push_back(b);
      closed.push_back(0);
    }
  }
  return out;
}

}  // namespace

// Which backends this build can create: bit 0 gloo, bit 1 nccl.
LS_EXPORT int ls_dist_backends(int* mask) {
  LS_TRY
  *mask = 1 | (ls_dist_make_nccl != nullptr ? 2 : 0);
  LS_CATCH
}

// Joins a group: rank 0 runs the TCPStore server on host:port, the others connect to it; every rank waits
// (at most timeoutMs) for all `size` ranks. backend: "gloo" or "nccl". The timeout also bounds every
// collective of the group.
LS_EXPORT int ls_dist_init(const char* host, int port, int rank, int size, const char* backend, int64_t timeoutMs,
                           void** out) {
  LS_TRY
  TORCH_CHECK(size >= 1, "world size must be at least 1, got ", size);
  TORCH_CHECK(rank >= 0 && rank < size, "rank ", rank, " is outside the world size ", size);
  TORCH_CHECK(port > 0 && port < 65536, "port ", port, " is outside 1..65535");
  std::string be(backend);
  TORCH_CHECK(be == "gloo" || be == "nccl", "unknown backend '", be, "' (gloo or nccl)");
  if (be == "nccl") TORCH_CHECK(ls_dist_make_nccl != nullptr, "this build of the native shim has no NCCL (a CPU libtorch, or no NCCL headers)");
  auto timeout = std::chrono::milliseconds(timeoutMs);
  c10d::TCPStoreOptions opts;
  opts.port = (std::uint16_t)port;
  opts.isServer = rank == 0;
  opts.numWorkers = (std::size_t)size;
  opts.waitWorkers = true;
  opts.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
  // One prefix per group, as torch.distributed does, so a later group on the same store starts clean.
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>("lora-scripts/0", tcp);
  auto g = std::make_unique<LsGroup>();
  g->store = store;
  g->rank = rank;
  g->size = size;
  g->timeout = timeout;
  g->name = be;
  if (be == "gloo") {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // GLOO_SOCKET_IFNAME names the interfaces to use (as in torch.distributed); otherwise the address
    // this host's name resolves to, or the loopback when it resolves to none.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname != nullptr && *ifname) {
      std::stringstream ss(ifname);
      std::string itf;
      while (std::getline(ss, itf, ',')) {
        if (!itf.empty()) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(itf));
      }
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 2;
    g->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
  } else {
    g->backend = ls_dist_make_nccl(store, rank, size, timeout);
  }
  *out = g.release();
  LS_CATCH
}

// One bucket as a flat buffer: the tensor itself when the bucket is one contiguous tensor (*direct), else a
// concatenated copy that ls_unflatten writes back.
static at::Tensor ls_flatten(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket, bool* direct) {
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.size());
  for (size_t i : bucket) flat.push_back(tensors[i].reshape({-1}));
  *direct = bucket.size() == 1 && tensors[bucket[0]].is_contiguous();
  return *direct ? flat[0] : at::cat(flat);
}
static void ls_unflatten(std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket, const at::Tensor& buf) {
  int64_t off = 0;
  for (size_t i : bucket) {
    auto& t = tensors[i];
    t.copy_(buf.narrow(0, off, t.numel()).view(t.sizes()));
    off += t.numel();
  }
}

// All-reduces the tensors in place (sum), then multiplies them by scale (1/size gives the mean; gloo has
// no AVG). Tensors are flattened into buckets of at most bucketBytes per dtype and device.
LS_EXPORT int ls_dist_all_reduce(void* group, LsT* ts, int n, double scale, int64_t bucketBytes) {
  LS_TRY
  auto* g = static_cast<LsGroup*>(group);
  auto tensors = ls_list(ts, n);
  for (const auto& t : tensors) TORCH_CHECK(t.defined(), "all_reduce: undefined tensor in the list");
  for (const auto& bucket : ls_buckets(tensors, bucketBytes > 0 ? bucketBytes : ((int64_t)1 << 62))) {
    bool direct = false;
    at::Tensor buf = ls_flatten(tensors, bucket, &direct);
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g->timeout;
    at::Tensor wire = ls_wire(g, buf);
    std::vector<at::Tensor> arg{wire};
    ls_wait(g->backend->allreduce(arg, o), g, "all_reduce");
    if (scale != 1.0) wire.mul_(scale);
    if (!wire.is_same(buf)) buf.copy_(wire);
    if (!direct) ls_unflatten(tensors, bucket, buf);
  }
  LS_CATCH
}

// Broadcasts the tensors in place from rank root to all ranks (bucketed like ls_dist_all_reduce).
LS_EXPORT int ls_dist_broadcast(void* group, LsT* ts, int n, int root, int64_t bucketBytes) {
  LS_TRY
  auto* g = static_cast<LsGroup*>(group);
  TORCH_CHECK(root >= 0 && root < g->size, "broadcast: root ", root, " is outside the world size ", g->size);
  auto tensors = ls_list(ts, n);
  for (const auto& t : tensors) TORCH_CHECK(t.defined(), "broadcast: undefined tensor in the list");
  for (const auto& bucket : ls_buckets(tensors, bucketBytes > 0 ? bucketBytes : ((int64_t)1 << 62))) {
    bool direct = false;
    at::Tensor buf = ls_flatten(tensors, bucket, &direct);
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.rootTensor = 0;
    o.timeout = g->timeout;
    at::Tensor wire = ls_wire(g, buf);
    std::vector<at::Tensor> arg{wire};
    ls_wait(g->backend->broadcast(arg, o), g, "broadcast");
    if (!wire.is_same(buf)) buf.copy_(wire);
    if (!direct) ls_unflatten(tensors, bucket, buf);
  }
  LS_CATCH
}

LS_EXPORT int ls_dist_barrier(void* group) {
  LS_TRY
  auto* g = static_cast<LsGroup*>(group);
  c10d::BarrierOptions o;
  o.timeout = g->timeout;
  ls_wait(g->backend->barrier(o), g, "barrier");
  LS_CATCH
}

// ---- the gradient sum overlapped with backward (as DDP's Reducer) ----
// attach installs a post hook on each parameter's gradient accumulator (the AccumulateGrad node that writes
// .grad; the mechanism c10d's Reducer uses). The parameters are split into buckets in reverse order (the order
// backward produces gradients). Once armed (before the backward of a rank's last micro-batch of a step), the
// hook counts each parameter's gradient as final; when a bucket has all of its gradients, it is copied into a
// flat buffer and its all-reduce (sum) is started without waiting, buckets strictly in index order on every
// rank (a ready bucket waits for the ones before it), so the ranks' collectives match. flush launches what
// backward did not (a parameter this rank's micro-batches never reached sends zeros; a rank without micro-
// batches sends every bucket), finish waits and writes the sums back into .grad.
//
// c10d's Reducer itself is not used: it divides by the world size (the losses here are already weighted by
// the global batch), expects every rank to run backward each step (a rank without micro-batches in an epoch's
// last step would need DDP's Python-side join hooks), and its constructor differs between libtorch 1.13 and 2.x.
//
// Streams: the hook runs on the autograd thread of the gradient's device with the stream that produced the
// gradient current; the copy into the bucket runs there, and ProcessGroupNCCL orders its stream after the
// current one when the collective starts, as for DDP. finish runs on the training thread's stream (work->wait
// makes it wait for the collective).
namespace {
using LsAccPtr = decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor&>()));

struct LsOverlap;

struct LsOverlapHook : public torch::autograd::FunctionPostHook {
  LsOverlap* owner;
  size_t param;
  LsOverlapHook(LsOverlap* o, size_t p) : owner(o), param(p) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& inputs) override;
};

struct LsOverlap {
  LsGroup* g;
  std::vector<at::Tensor> params;
  std::vector<std::pair<LsAccPtr, uintptr_t>> hooks;  // accumulators kept alive, and the hooks' keys
  std::vector<std::vector<size_t>> buckets;
  std::vector<size_t> bucketOf;
  std::mutex mu;
  bool armed = false;
  std::vector<size_t> pending;     // per bucket: gradients still to come in the armed backward
  std::vector<char> seen;          // per parameter: its gradient was final in the armed backward
  size_t next = 0;                 // the next bucket to launch
  int64_t unconfirmed = 0;         // buckets launched by the hook since the last gradient arrived
  struct Flight {
    at::Tensor buf, wire;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Flight> flights;     // per bucket, once launched
  std::string error;               // the first failure of a launch inside backward (rethrown by flush/finish)
  // statistics since attach: steps armed, buckets launched inside backward, of those the ones that were in
  // flight while backward still produced another gradient (communication overlapping backward), buckets
  // launched by flush,
  // gradients accumulated again after their bucket had left (the overlapped sums are then discarded)
  int64_t steps = 0, inBackward = 0, early = 0, atFlush = 0, late = 0;

  void reset() {
    armed = false;
    next = 0;
    unconfirmed = 0;
    for (size_t b = 0; b < buckets.size(); b++) pending[b] = buckets[b].size();
    std::fill(seen.begin(), seen.end(), 0);
    flights.assign(buckets.size(), Flight{});
    error.clear();
  }

  // Copies bucket b's gradients (zeros where a parameter has none) into a flat buffer and starts its sum.
  void launch(size_t b) {
    std::vector<at::Tensor> flat;
    for (size_t i : buckets[b]) {
      const at::Tensor& gr = params[i].grad();
      flat.push_back(gr.defined() ? gr.detach().reshape({-1}) : at::zeros({params[i].numel()}, params[i].options()));
    }
    Flight& f = flights[b];
    // always a copy: a gradient accumulated again later must not race with the sum in flight
    f.buf = flat.size() == 1 ? flat[0].clone() : at::cat(flat);
    f.wire = ls_wire(g, f.buf);
    // Gloo reduces host memory: a CUDA bucket travels through a host copy
    if (g->name == "gloo" && f.wire.is_cuda()) f.wire = f.wire.to(at::kCPU);
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g->timeout;
    std::vector<at::Tensor> arg{f.wire};
    f.work = g->backend->allreduce(arg, o);
  }

  // Under mu: launches the ready buckets from `next` on, in order.
  void launchReady() {
    while (next < buckets.size() && pending[next] == 0) {
      size_t b = next++;
      try {
        launch(b);
      } catch (const std::exception& e) {
        if (error.empty()) error = e.what();
      }
      inBackward++;
      unconfirmed++;
    }
  }

  void onGrad(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed) return;
    if (seen[i]) {  // a second accumulation in one backward: the sum already sent is stale
      if (bucketOf[i] < next) late++;
      return;
    }
    seen[i] = 1;
    early += unconfirmed;  // backward produced this gradient while those sums were in flight
    unconfirmed = 0;
    pending[bucketOf[i]]--;
    launchReady();
  }
};

torch::autograd::variable_list LsOverlapHook::operator()(const torch::autograd::variable_list& outputs,
                                                         const torch::autograd::variable_list&) {
  owner->onGrad(param);  // never throws into the engine: launch failures are kept for flush/finish
  return outputs;
}
}  // namespace

// Installs the hooks on params (leaves that require grad) over group; buckets of at most capBytes (the first
// at most firstCapBytes) in reverse parameter order. *nBuckets gets the number of buckets.
LS_EXPORT int ls_dist_overlap_attach(void* group, LsT* ts, int n, int64_t capBytes, int64_t firstCapBytes, void** out,
                                     int* nBuckets) {
  LS_TRY
  auto* g = static_cast<LsGroup*>(group);
  auto o = std::make_unique<LsOverlap>();
  o->g = g;
  o->params = ls_list(ts, n);
  for (int i = 0; i < n; i++) {
    const auto& p = o->params[i];
    TORCH_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), "overlap: parameter ", i,
                " is not a leaf tensor that requires grad");
  }
  std::vector<size_t> order;
  for (int i = n - 1; i >= 0; i--) order.push_back((size_t)i);
  int64_t cap = capBytes > 0 ? capBytes : ((int64_t)1 << 62);
  o->buckets = ls_buckets(o->params, cap, order, true, firstCapBytes > 0 ? std::min(firstCapBytes, cap) : cap);
  o->bucketOf.assign(n, 0);
  for (size_t b = 0; b < o->buckets.size(); b++) for (size_t i : o->buckets[b]) o->bucketOf[i] = b;
  o->pending.assign(o->buckets.size(), 0);
  o->seen.assign(n, 0);
  o->reset();
  for (int i = 0; i < n; i++) {
    LsAccPtr acc = torch::autograd::impl::grad_accumulator(o->params[i]);
    TORCH_CHECK(acc, "overlap: parameter ", i, " has no gradient accumulator");
    uintptr_t key = acc->add_post_hook(std::make_unique<LsOverlapHook>(o.get(), (size_t)i));
    o->hooks.emplace_back(acc, key);
  }
  *nBuckets = (int)o->buckets.size();
  *out = o.release();
  LS_CATCH
}

// Before the backward whose gradients are the step's last: from now on a final gradient may leave.
LS_EXPORT int ls_dist_overlap_arm(void* h) {
  LS_TRY
  auto* o = static_cast<LsOverlap*>(h);
  std::lock_guard<std::mutex> lock(o->mu);
  TORCH_CHECK(o->next == 0, "overlap: armed again before the previous step's sums were finished");
  o->armed = true;
  o->steps++;
  LS_CATCH
}

// After backward: launches, in bucket order, every bucket backward did not.
LS_EXPORT int ls_dist_overlap_flush(void* h) {
  LS_TRY
  auto* o = static_cast<LsOverlap*>(h);
  std::lock_guard<std::mutex> lock(o->mu);
  o->armed = false;
  if (o->error.empty()) {
    try {
      for (; o->next < o->buckets.size(); o->next++) {
        o->launch(o->next);
        o->atFlush++;
      }
    } catch (const std::exception& e) {
      o->error = e.what();
    }
  }
  if (!o->error.empty()) {
    std::string m = o->g->name + " all_reduce: " + o->error;
    o->reset();
    throw std::runtime_error(m);
  }
  LS_CATCH
}

// Waits for every bucket's sum and writes it into .grad, where used[i] > 0 (the parameter has a gradient on
// some rank; a parameter no rank reached keeps no gradient, as in one process). discard: wait only (the sums
// are stale and the caller sums again).
LS_EXPORT int ls_dist_overlap_finish(void* h, const double* used, int n, int discard) {
  LS_TRY
  auto* o = static_cast<LsOverlap*>(h);
  std::lock_guard<std::mutex> lock(o->mu);
  TORCH_CHECK(n == (int)o->params.size(), "overlap: ", n, " flags for ", o->params.size(), " parameters");
  TORCH_CHECK(o->next == o->buckets.size(), "overlap: finish before flush");
  try {
    at::NoGradGuard ng;
    for (size_t b = 0; b < o->buckets.size(); b++) {
      auto& f = o->flights[b];
      ls_wait(f.work, o->g, "all_reduce");
      if (discard) continue;
      if (!f.wire.is_same(f.buf)) f.buf.copy_(f.wire);
      if (f.buf.is_cuda()) {
        // the buffer came from the autograd thread's stream and is read here on this thread's
        c10::impl::VirtualGuardImpl impl(f.buf.device().type());
        f.buf.record_stream(impl.getStream(f.buf.device()));
      }
      int64_t off = 0;
      for (size_t i : o->buckets[b]) {
        auto& p = o->params[i];
        int64_t k = p.numel();
        if (used[i] > 0) {
          at::Tensor sum = f.buf.narrow(0, off, k).view(p.sizes());
          if (p.grad().defined()) p.mutable_grad().copy_(sum);
          else p.mutable_grad() = sum.clone();
        }
        off += k;
      }
    }
  } catch (...) {
    o->reset();
    throw;
  }
  o->reset();
  LS_CATCH
}

// Statistics since attach: buckets, steps armed, buckets launched inside backward, of those the ones launched
// while other gradients were still to come, buckets launched after backward, late gradients.
LS_EXPORT int ls_dist_overlap_stats(void* h, int64_t* out) {
  LS_TRY
  auto* o = static_cast<LsOverlap*>(h);
  std::lock_guard<std::mutex> lock(o->mu);
  out[0] = (int64_t)o->buckets.size();
  out[1] = o->steps;
  out[2] = o->inBackward;
  out[3] = o->early;
  out[4] = o->atFlush;
  out[5] = o->late;
  LS_CATCH
}

// Removes the hooks (waiting for any sum still in flight) and frees the state; before the group's destroy.
LS_EXPORT int ls_dist_overlap_destroy(void* h) {
  LS_TRY
  std::unique_ptr<LsOverlap> o(static_cast<LsOverlap*>(h));
  for (auto& hk : o->hooks) hk.first->del_post_hook(hk.second);
  o->hooks.clear();
  for (auto& f : o->flights) {
    if (!f.work) continue;
    try {
      f.work->wait();
    } catch (const std::exception&) {
      // the job is ending anyway
    }
  }
  LS_CATCH
}

// Frees the group: its worker threads stop and the connections close (the store server too, on rank 0).
LS_EXPORT int ls_dist_destroy(void* group) {
  LS_TRY
  delete static_cast<LsGroup*>(group);
  LS_CATCH
}
