// Shared by ls_dist.cpp and ls_dist_nccl.cpp (the optional distributed part of the shim).
// libtorch 1.13 derives the per-backend process groups from c10d::ProcessGroup; 2.x from c10d::Backend
// (a ProcessGroup now dispatches to per-device Backends). The collectives used here have the same
// shape in both, so one alias covers them.
#pragma once
#include "ls_common.h"
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <chrono>
#if LS_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
using LsBackend = c10d::Backend;
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
using LsBackend = c10d::ProcessGroup;
#endif
using LsBackendPtr = c10::intrusive_ptr<LsBackend>;

// Defined in ls_dist_nccl.cpp, which is compiled only for CUDA builds with NCCL headers; ls_dist.cpp
// references it weakly, so it is null when that object is not linked.
LsBackendPtr ls_dist_make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                               std::chrono::milliseconds timeout) __attribute__((weak));
