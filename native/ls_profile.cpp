// The libtorch profiler (Kineto): CPU operators and, on CUDA, kernels, written as a Chrome trace.
// Used by the benchmarks' per-step breakdown; nothing here runs during training.
#include "ls_common.h"
#include <torch/csrc/autograd/profiler_kineto.h>
// The profiler's event tree (where allocations sit under the operator that made them) needs Kineto's headers,
// which a libtorch built with Kineto ships (include/kineto); Debian's 1.13 has neither.
#if __has_include(<ActivityType.h>)
#include <torch/csrc/profiler/collection.h>
#define LS_EVENT_TREE 1
#endif
#include <fstream>
#include <set>

namespace {
torch::profiler::impl::ProfilerConfig ls_profiler_config(bool memory) {
  // (state, report_input_shapes, profile_memory): the same leading arguments in libtorch 1.13 and 2.x
  return torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::KINETO, false, memory);
}
std::set<torch::profiler::impl::ActivityType> ls_activities(int cuda) {
  std::set<torch::profiler::impl::ActivityType> acts{torch::profiler::impl::ActivityType::CPU};
  if (cuda) acts.insert(torch::profiler::impl::ActivityType::CUDA);
  return acts;
}
// KinetoEvent's times were microseconds before libtorch 2.1 and nanoseconds since; take what exists.
template <class E>
auto ls_start_ns(const E& e, int) -> decltype(e.startNs()) { return e.startNs(); }
template <class E>
uint64_t ls_start_ns(const E& e, long) { return (uint64_t)e.startUs() * 1000; }
template <class E>
auto ls_duration_ns(const E& e, int) -> decltype(e.durationNs()) { return e.durationNs(); }
template <class E>
uint64_t ls_duration_ns(const E& e, long) { return (uint64_t)e.durationUs() * 1000; }
}  // namespace

#ifdef LS_EVENT_TREE
namespace {
// One line per allocation or free in the event tree: the event's time, the block's address, its size (negative
// for a free), the device type and the operators running when it happened, outermost first, joined by " > "
// ("-" outside any operator: a tensor freed by the caller). Children come after their parent's own line.
void ls_write_memory(std::ostream& out, const std::shared_ptr<torch::profiler::impl::Result>& r, const std::string& ops) {
  using torch::profiler::impl::EventType;
  if (r->tag() == EventType::Allocation) {
    const auto& a = std::get<torch::profiler::impl::ExtraFields<EventType::Allocation>>(r->extra_fields_);
    out << r->start_time_ns_ << '\t' << reinterpret_cast<uintptr_t>(a.ptr_) << '\t' << (int64_t)a.alloc_size_ << '\t'
        << (int)a.device_type_ << '\t' << (ops.empty() ? std::string("-") : ops) << '\n';
    return;
  }
  std::string here = ops;
  if (r->tag() == EventType::TorchOp || r->tag() == EventType::Backend) {
    std::string name = r->name();
    for (auto& ch : name) if (ch == '\t' || ch == '\n' || ch == '\r' || ch == '>') ch = ' ';
    here = ops.empty() ? name : ops + " > " + name;
  }
  for (const auto& c : r->children_) ls_write_memory(out, c, here);
}
}  // namespace
#endif

namespace {

int ls_profiler_start_impl(int cuda, bool memory) {
  LS_TRY
  auto cfg = ls_profiler_config(memory);
  auto acts = ls_activities(cuda);
  torch::autograd::profiler::prepareProfiler(cfg, acts);
  torch::autograd::profiler::enableProfiler(cfg, acts);
  LS_CATCH
}
}  // namespace

// Starts recording on this thread (and the autograd threads it hands work to); cuda != 0 adds kernels.
LS_EXPORT int ls_profiler_start(int cuda) { return ls_profiler_start_impl(cuda, false); }
// As ls_profiler_start, also recording every allocation and free of the allocators (profile_memory).
LS_EXPORT int ls_profiler_start_memory(int cuda) { return ls_profiler_start_impl(cuda, true); }
// Stops recording. events (when not empty) gets one line per event: name, device type (c10::DeviceType:
// 0 CPU, 1 CUDA), Kineto's activity type, start and duration in ns, tab-separated; trace (when not
// empty) gets the Chrome trace, which needs a libtorch built with Kineto.
// memory (when not empty) gets the allocations and frees (see ls_write_memory); a region started without
// memory recording has none.
LS_EXPORT int ls_profiler_stop_memory(const char* events, const char* trace, const char* memory) {
  LS_TRY
  auto result = torch::autograd::profiler::disableProfiler();
  if (events != nullptr && events[0] != 0) {
    std::ofstream out(events);
    TORCH_CHECK(out, "cannot write ", events);
    for (const auto& e : result->events()) {
      std::string name = e.name();
      for (auto& ch : name) if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
      uint64_t start = ls_start_ns(e, 0), dur = ls_duration_ns(e, 0);
      out << name << '\t' << (int)e.deviceType() << '\t' << (int)e.activityType() << '\t' << start << '\t' << dur << '\n';
    }
    TORCH_CHECK(out.good(), "writing ", events, " failed");
  }
  if (memory != nullptr && memory[0] != 0) {
#ifdef LS_EVENT_TREE
    std::ofstream out(memory);
    TORCH_CHECK(out, "cannot write ", memory);
    for (const auto& r : result->event_tree()) ls_write_memory(out, r, "");
    TORCH_CHECK(out.good(), "writing ", memory, " failed");
#else
    TORCH_CHECK(false, "memory events need a libtorch built with Kineto (its include/kineto headers); this one has none");
#endif
  }
  if (trace != nullptr && trace[0] != 0) result->save(trace);
  LS_CATCH
}
LS_EXPORT int ls_profiler_stop(const char* events, const char* trace) { return ls_profiler_stop_memory(events, trace, nullptr); }
