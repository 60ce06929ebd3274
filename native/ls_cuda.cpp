// CUDA-only helpers (memory statistics, device names, synchronisation). Compiled and linked only
// when libtorch has CUDA and the CUDA runtime headers are found; Java treats these symbols as optional.
#include "ls_common.h"
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <cstring>

LS_EXPORT int ls_cuda_synchronize(int device) {
  LS_TRY
  if (device >= 0) c10::cuda::set_device((c10::DeviceIndex)device);
  c10::cuda::device_synchronize();
  LS_CATCH
}
// allocated / reserved / peak allocated bytes of the caching allocator on one device.
LS_EXPORT int ls_cuda_memory(int device, int64_t* allocated, int64_t* reserved, int64_t* peakAllocated) {
  LS_TRY
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats((c10::DeviceIndex)device);
  const size_t agg = 0;  // StatType::AGGREGATE (the enum moved namespaces across releases)
  *allocated = stats.allocated_bytes[agg].current;
  *reserved = stats.reserved_bytes[agg].current;
  *peakAllocated = stats.allocated_bytes[agg].peak;
  LS_CATCH
}
LS_EXPORT int ls_cuda_reset_peak(int device) {
  LS_TRY c10::cuda::CUDACachingAllocator::resetPeakStats((c10::DeviceIndex)device); LS_CATCH
}
LS_EXPORT int ls_cuda_empty_cache() { LS_TRY c10::cuda::CUDACachingAllocator::emptyCache(); LS_CATCH }
LS_EXPORT int ls_cuda_device_info(int device, char* name, int cap, int64_t* totalMem, int* major, int* minor) {
  LS_TRY
  cudaDeviceProp p;
  // cudart is not linked here: libtorch_cuda already loaded it, so the symbol resolves at load time.
  auto rc = cudaGetDeviceProperties(&p, device);
  TORCH_CHECK(rc == cudaSuccess, "cudaGetDeviceProperties failed: ", cudaGetErrorString(rc));
  std::strncpy(name, p.name, (size_t)cap - 1);
  name[cap - 1] = 0;
  *totalMem = (int64_t)p.totalGlobalMem;
  *major = p.major;
  *minor = p.minor;
  LS_CATCH
}

// The current CUDA stream of a device (a captured graph's stream while capturing), for kernels that
// Java launches through the driver API (run-time compiled kernels) on libtorch's stream order.
LS_EXPORT int ls_cuda_current_stream(int device, void** out) {
  LS_TRY *out = (void*)c10::cuda::getCurrentCUDAStream((c10::DeviceIndex)device).stream(); LS_CATCH
}
// Makes the device's primary context current on this thread (as the runtime API does lazily), for the
// driver API calls that need one.
LS_EXPORT int ls_cuda_init_context(int device) {
  LS_TRY
  c10::cuda::set_device((c10::DeviceIndex)device);
  cudaFree(nullptr);
  LS_CATCH
}

// ---- CUDA graphs ----
// A training step written in Java, captured once and replayed: the body is an upcall (like a
// checkpointed segment) that runs on a side stream, first `warmup` times uncaptured (as torch.cuda.graph
// recommends, so lazily created state such as cuBLAS workspaces exists before capture), then once
// under capture. Replays reuse the tensors the capture allocated: the body must read its inputs from
// and write its outputs to tensors that outlive it.
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <map>
#include <memory>
#include <mutex>

typedef int (*LsGraphBodyFn)(int64_t id);

// A memory pool id for graphs that share their memory (never replayed concurrently, none keeping
// tensors of its own alive between replays): two unsigned 64-bit halves.
LS_EXPORT int ls_cuda_graph_pool(uint64_t* first, uint64_t* second) {
  LS_TRY
  auto id = at::cuda::graph_pool_handle();
  *first = (uint64_t)id.first;
  *second = (uint64_t)id.second;
  LS_CATCH
}
// The side stream every capture of a device runs on, created once, as torch.cuda.graph's default capture stream:
// libtorch keeps cuBLAS workspaces and cached blocks per stream it has seen, and a fresh pool stream per capture
// (one per bucket shape) spread them over up to 32 streams.
static c10::cuda::CUDAStream ls_capture_stream(c10::DeviceIndex device) {
  static std::mutex mu;
  static std::map<int, c10::cuda::CUDAStream> streams;
  std::lock_guard<std::mutex> lock(mu);
  auto it = streams.find((int)device);
  if (it == streams.end()) it = streams.emplace((int)device, c10::cuda::getStreamFromPool(false, device)).first;
  return it->second;
}

// A capture that fails before its end (a synchronising op invalidates it) leaves the device's default generator
// expecting the capture, and every later random draw outside a graph then fails. Restoring it: with graph-safe
// generator states (libtorch 2.3+), the state cloned before the capture is swapped back in; before them, the
// generator's capture is ended. Chosen by what the headers declare, so the shim compiles against either.
template <class G>
static auto ls_restore_generator(G* impl, const at::Generator& saved, int)
    -> decltype(impl->graphsafe_set_state(saved.getIntrusivePtr()), void()) {
  impl->graphsafe_set_state(saved.getIntrusivePtr());
}
// (C defaults to the CUDA generator's type but stays a template parameter, so a header without capture_epilogue
// rules this overload out instead of failing to compile it)
template <class G, class C = at::CUDAGeneratorImpl>
static auto ls_restore_generator(G* impl, const at::Generator&, long)
    -> decltype(static_cast<C*>(impl)->capture_epilogue(), void()) {
  static_cast<C*>(impl)->capture_epilogue();
}
template <class G>
static void ls_restore_generator(G*, const at::Generator&, ...) {}

// poolFirst == poolSecond == 0: a pool of the graph's own.
LS_EXPORT int ls_cuda_graph_capture(int device, LsGraphBodyFn fn, int64_t id, int warmup, uint64_t poolFirst,
                                    uint64_t poolSecond, void** out) {
  LS_TRY
  c10::cuda::CUDAGuard deviceGuard((c10::DeviceIndex)device);
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  auto side = ls_capture_stream((c10::DeviceIndex)device);
  c10::cuda::device_synchronize();
  {
    c10::cuda::CUDAStreamGuard streamGuard(side);
    for (int i = 0; i < warmup; i++) {
      if (fn(id) != 0) throw LsCallbackError("the graph's body failed in Java (warm-up)");
    }
    c10::cuda::device_synchronize();
    at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator((c10::DeviceIndex)device);
    at::Generator saved;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      saved = gen.clone();
    }
    decltype(at::cuda::graph_pool_handle()) pool{poolFirst, poolSecond};
    graph->capture_begin(pool);
    int rc = 0;
    try {
      rc = fn(id);
    } catch (...) {
      rc = -1;
    }
    try {
      graph->capture_end();
    } catch (...) {
      ls_restore_generator(gen.unsafeGetGeneratorImpl(), saved, 0);
      if (rc == 0) throw;
    }
    if (rc != 0) throw LsCallbackError("the graph's body failed in Java while being captured");
  }
  c10::cuda::device_synchronize();
  *out = graph.release();
  LS_CATCH
}
LS_EXPORT int ls_cuda_graph_replay(void* graph) {
  LS_TRY static_cast<at::cuda::CUDAGraph*>(graph)->replay(); LS_CATCH
}
LS_EXPORT int ls_cuda_graph_free(void* graph) {
  LS_TRY delete static_cast<at::cuda::CUDAGraph*>(graph); LS_CATCH
}
