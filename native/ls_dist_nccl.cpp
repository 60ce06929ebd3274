// The NCCL backend of ls_dist.cpp, for CUDA builds of libtorch whose NCCL headers are found (ShimBuilder
// compiles it only then; without it ls_dist_backends reports gloo only).
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include "ls_dist.h"
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <cstdlib>

LsBackendPtr ls_dist_make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                               std::chrono::milliseconds timeout) {
  // Without blocking wait a collective whose peer died never returns to the host: ask for it (and for
  // the watchdog's error handling) unless the user set these variables.
  setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  setenv("NCCL_BLOCKING_WAIT", "1", 0);
  setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1", 0);
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}
