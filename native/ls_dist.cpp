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
#include <chrono>
#include <cstdlib>
#include <cstring>
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
// bucket of its own); order within a bucket is the caller's order, the same on every rank.
std::vector<std::vector<size_t>> ls_buckets(const std::vector<at::Tensor>& ts, int64_t capBytes) {
  std::vector<std::vector<size_t>> out;
  std::vector<int64_t> bytes;
  for (size_t i = 0; i < ts.size(); i++) {
    const auto& t = ts[i];
    int64_t b = t.numel() * (int64_t)t.element_size();
    bool placed = false;
    for (size_t k = 0; k < out.size(); k++) {
      const auto& first = ts[out[k][0]];
      if (first.scalar_type() == t.scalar_type() && first.device() == t.device() && bytes[k] + b <= capBytes) {
        out[k].push_back(i);
        bytes[k] += b;
        placed = true;
        break;
      }
    }
    if (!placed) {
      out.push_back({i});
      bytes.push_back(b);
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

// Frees the group: its worker threads stop and the connections close (the store server too, on rank 0).
LS_EXPORT int ls_dist_destroy(void* group) {
  LS_TRY
  delete static_cast<LsGroup*>(group);
  LS_CATCH
}
