// The libtorch profiler (Kineto): CPU operators and, on CUDA, kernels, written as a Chrome trace.
// Used by the benchmarks' per-step breakdown; nothing here runs during training.
#include "ls_common.h"
#include <torch/csrc/autograd/profiler_kineto.h>
#include <fstream>
#include <set>

namespace {
torch::profiler::impl::ProfilerConfig ls_profiler_config() {
  return torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::KINETO);
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

// Starts recording on this thread (and the autograd threads it hands work to); cuda != 0 adds kernels.
LS_EXPORT int ls_profiler_start(int cuda) {
  LS_TRY
  auto cfg = ls_profiler_config();
  auto acts = ls_activities(cuda);
  torch::autograd::profiler::prepareProfiler(cfg, acts);
  torch::autograd::profiler::enableProfiler(cfg, acts);
  LS_CATCH
}
// Stops recording. events (when not empty) gets one line per event: name, device type (c10::DeviceType:
// 0 CPU, 1 CUDA), Kineto's activity type, start and duration in ns, tab-separated; trace (when not
// empty) gets the Chrome trace, which needs a libtorch built with Kineto.
LS_EXPORT int ls_profiler_stop(const char* events, const char* trace) {
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
  if (trace != nullptr && trace[0] != 0) result->save(trace);
  LS_CATCH
}
