// Autograd, grad mode, autocast, RNG, gradient checkpointing and the mixed-precision/optimizer kernels.
#include "ls_common.h"
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <atomic>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>
#include <algorithm>

LS_EXPORT int ls_requires_grad_(LsT t, int on) { LS_TRY t->requires_grad_(on != 0); LS_CATCH }
LS_EXPORT int ls_requires_grad(LsT t, int* out) { LS_TRY *out = t->requires_grad() ? 1 : 0; LS_CATCH }
LS_EXPORT int ls_is_leaf(LsT t, int* out) { LS_TRY *out = t->is_leaf() ? 1 : 0; LS_CATCH }
LS_EXPORT int ls_grad(LsT t, LsT* out) { LS_TRY ls_put_opt(out, t->grad()); LS_CATCH }
LS_EXPORT int ls_set_grad(LsT t, LsT g) { LS_TRY t->mutable_grad() = g ? *g : at::Tensor(); LS_CATCH }
LS_EXPORT int ls_detach(LsT t, LsT* out) { LS_TRY ls_put(out, t->detach()); LS_CATCH }
LS_EXPORT int ls_detach_(LsT t) { LS_TRY t->detach_(); LS_CATCH }
LS_EXPORT int ls_backward(LsT t, LsT grad, int retainGraph) {
  LS_TRY t->backward(ls_opt(grad), retainGraph != 0, false); LS_CATCH
}
LS_EXPORT int ls_autograd_grad(LsT* outs, int nOut, LsT* gradOuts, LsT* ins, int nIn, int retain, int create,
                               LsT* result) {
  LS_TRY
  torch::autograd::variable_list go;
  if (gradOuts) for (int i = 0; i < nOut; i++) go.push_back(ls_opt(gradOuts[i]));
  auto r = torch::autograd::grad(ls_list(outs, nOut), ls_list(ins, nIn), go, retain != 0, create != 0, true);
  for (int i = 0; i < nIn; i++) ls_put_opt(&result[i], r[i]);
  LS_CATCH
}

LS_EXPORT int ls_grad_enabled(int* out) { LS_TRY *out = c10::GradMode::is_enabled() ? 1 : 0; LS_CATCH }
LS_EXPORT int ls_set_grad_enabled(int on) { LS_TRY c10::GradMode::set_enabled(on != 0); LS_CATCH }

// ---- autocast (thread-local in libtorch, like grad mode) ----
// The device-type-keyed API appeared in 2.4; 1.13 has per-backend setters.
LS_EXPORT int ls_autocast_state(int devType, int* enabled, int* dtype) {
  LS_TRY
  auto dt = static_cast<at::DeviceType>(devType);
#if LS_TORCH_AT_LEAST(2, 4)
  *enabled = at::autocast::is_autocast_enabled(dt) ? 1 : 0;
  *dtype = (int)at::autocast::get_autocast_dtype(dt);
#else
  if (dt == at::DeviceType::CUDA) {
    *enabled = at::autocast::is_enabled() ? 1 : 0;
    *dtype = (int)at::autocast::get_autocast_gpu_dtype();
  } else {
    *enabled = at::autocast::is_cpu_enabled() ? 1 : 0;
    *dtype = (int)at::autocast::get_autocast_cpu_dtype();
  }
#endif
  LS_CATCH
}
LS_EXPORT int ls_autocast_set(int devType, int enabled, int dtype) {
  LS_TRY
  auto dt = static_cast<at::DeviceType>(devType);
#if LS_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(dt, enabled != 0);
  at::autocast::set_autocast_dtype(dt, ls_dtype(dtype));
#else
  if (dt == at::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled != 0);
    at::autocast::set_autocast_gpu_dtype(ls_dtype(dtype));
  } else {
    at::autocast::set_cpu_enabled(enabled != 0);
    at::autocast::set_autocast_cpu_dtype(ls_dtype(dtype));
  }
#endif
  LS_CATCH
}
// Entering increments the nesting level; leaving the outermost region clears the cast cache, as
// torch.autocast's __exit__ does, so cached fp16 copies of weights do not outlive the region.
LS_EXPORT int ls_autocast_increment_nesting(int* out) { LS_TRY *out = at::autocast::increment_nesting(); LS_CATCH }
LS_EXPORT int ls_autocast_decrement_nesting(int* out) {
  LS_TRY
  int n = at::autocast::decrement_nesting();
  if (n == 0) at::autocast::clear_cache();
  *out = n;
  LS_CATCH
}

// ---- RNG ----
static at::Generator ls_generator(int devType, int devIndex) {
  auto dt = static_cast<at::DeviceType>(devType);
  if (dt == at::DeviceType::CPU) return at::detail::getDefaultCPUGenerator();
  return at::globalContext().defaultGenerator(ls_device(devType, devIndex));
}
LS_EXPORT int ls_manual_seed_all(uint64_t seed) {
  LS_TRY
  {
    auto g = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
  }
  if (torch::cuda::is_available()) {
    auto n = (int)torch::cuda::device_count();
    for (int i = 0; i < n; i++) {
      auto g = at::globalContext().defaultGenerator(at::Device(at::kCUDA, i));
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
  }
  LS_CATCH
}
LS_EXPORT int ls_manual_seed(int devType, int devIndex, uint64_t seed) {
  LS_TRY
  auto g = ls_generator(devType, devIndex);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(seed);
  LS_CATCH
}
LS_EXPORT int ls_rng_get_state(int devType, int devIndex, LsT* out) {
  LS_TRY
  auto g = ls_generator(devType, devIndex);
  std::lock_guard<std::mutex> lock(g.mutex());
  ls_put(out, g.get_state());
  LS_CATCH
}
LS_EXPORT int ls_rng_set_state(int devType, int devIndex, LsT state) {
  LS_TRY
  auto g = ls_generator(devType, devIndex);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(*state);
  LS_CATCH
}

// ---- gradient checkpointing ----
// The segment is Java code reached through an upcall stub. Forward runs it under no-grad and saves
// only its inputs; backward re-runs it with grad enabled on detached copies (after restoring the RNG
// state seen in forward, so dropout masks repeat) and returns the gradients for inputs and params
// through torch::autograd::grad. Params are passed as inputs so the node exists and their
// gradients accumulate through the outer engine like any other leaf.
typedef int (*LsSegmentFn)(int64_t id, LsT* inputs, int nIn, LsT* outputs, int cap, int* nOut);

namespace {
struct RngSnapshot {
  at::Tensor cpu;
  std::vector<std::pair<int, at::Tensor>> cuda;
};
RngSnapshot rng_capture(const std::vector<at::Tensor>& tensors) {
  RngSnapshot s;
  s.cpu = ls_generator((int)at::DeviceType::CPU, -1).get_state();
  std::vector<int> seen;
  for (auto& t : tensors) {
    if (t.defined() && t.is_cuda()) {
      int idx = t.get_device();
      if (std::find(seen.begin(), seen.end(), idx) != seen.end()) continue;
      seen.push_back(idx);
      s.cuda.emplace_back(idx, ls_generator((int)at::DeviceType::CUDA, idx).get_state());
    }
  }
  return s;
}
void rng_restore(const RngSnapshot& s) {
  ls_generator((int)at::DeviceType::CPU, -1).set_state(s.cpu);
  for (auto& p : s.cuda) ls_generator((int)at::DeviceType::CUDA, p.first).set_state(p.second);
}

std::vector<at::Tensor> run_segment(LsSegmentFn fn, int64_t id, const std::vector<at::Tensor>& in, int cap) {
  std::vector<LsT> inH(in.size());
  for (size_t i = 0; i < in.size(); i++) inH[i] = new at::Tensor(in[i]);
  std::vector<LsT> outH(cap, nullptr);
  int nOut = 0;
  int rc = fn(id, inH.data(), (int)inH.size(), outH.data(), cap, &nOut);
  for (auto h : inH) delete h;
  std::vector<at::Tensor> out;
  for (int i = 0; i < nOut && i < cap; i++) {
    if (outH[i]) { out.push_back(*outH[i]); delete outH[i]; }
  }
  if (rc != 0) throw LsCallbackError("checkpointed segment failed in Java");
  return out;
}

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                at::TensorList inputs, int64_t nSegIn,
                                                int64_t fnPtr, int64_t id, int64_t cap) {
    std::vector<at::Tensor> segIn(inputs.begin(), inputs.begin() + nSegIn);
    auto rng = rng_capture(segIn);
    std::vector<at::Tensor> out;
    {
      at::NoGradGuard ng;
      out = run_segment(reinterpret_cast<LsSegmentFn>(fnPtr), id, segIn, (int)cap);
    }
    ctx->save_for_backward(segIn);
    ctx->saved_data["n_seg_in"] = nSegIn;
    ctx->saved_data["fn"] = fnPtr;
    ctx->saved_data["id"] = id;
    ctx->saved_data["cap"] = cap;
    ctx->saved_data["rng_cpu"] = rng.cpu;
    std::vector<int64_t> cudaIdx;
    std::vector<at::Tensor> cudaStates;
    for (auto& p : rng.cuda) { cudaIdx.push_back(p.first); cudaStates.push_back(p.second); }
    ctx->saved_data["rng_cuda_idx"] = c10::List<int64_t>(cudaIdx);
    ctx->saved_data["rng_cuda"] = c10::List<at::Tensor>(cudaStates);
    ctx->saved_data["params"] = c10::List<at::Tensor>(std::vector<at::Tensor>(inputs.begin() + nSegIn, inputs.end()));
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOut) {
    auto saved = ctx->get_saved_variables();
    int64_t nSegIn = ctx->saved_data["n_seg_in"].toInt();
    auto fn = reinterpret_cast<LsSegmentFn>(ctx->saved_data["fn"].toInt());
    int64_t id = ctx->saved_data["id"].toInt();
    int cap = (int)ctx->saved_data["cap"].toInt();
    RngSnapshot rng;
    rng.cpu = ctx->saved_data["rng_cpu"].toTensor();
    auto cudaIdx = ctx->saved_data["rng_cuda_idx"].toIntList();
    auto cudaStates = ctx->saved_data["rng_cuda"].toTensorList();
    for (size_t i = 0; i < cudaIdx.size(); i++) rng.cuda.emplace_back((int)cudaIdx.get(i), cudaStates.get(i));
    auto paramList = ctx->saved_data["params"].toTensorList();
    std::vector<at::Tensor> params(paramList.begin(), paramList.end());

    std::vector<at::Tensor> detached;
    for (auto& t : saved) {
      auto d = t.detach();
      d.requires_grad_(t.requires_grad());
      detached.push_back(d);
    }
    auto current = rng_capture(detached);
    rng_restore(rng);
    std::vector<at::Tensor> out;
    {
      at::AutoGradMode enable(true);
      out = run_segment(fn, id, detached, cap);
    }
    rng_restore(current);

    std::vector<at::Tensor> outs, grads;
    for (size_t i = 0; i < out.size() && i < gradOut.size(); i++) {
      if (out[i].requires_grad() && gradOut[i].defined()) { outs.push_back(out[i]); grads.push_back(gradOut[i]); }
    }
    std::vector<at::Tensor> wrt;
    std::vector<int> slot;  // index in the result for each entry of wrt
    for (int64_t i = 0; i < nSegIn; i++) if (detached[i].requires_grad()) { wrt.push_back(detached[i]); slot.push_back((int)i); }
    for (size_t i = 0; i < params.size(); i++) if (params[i].requires_grad()) { wrt.push_back(params[i]); slot.push_back((int)(nSegIn + i)); }

    torch::autograd::variable_list result(nSegIn + params.size() + 4);  // + the 4 non-tensor args
    if (!outs.empty() && !wrt.empty()) {
      auto g = torch::autograd::grad(outs, wrt, grads, false, false, true);
      for (size_t i = 0; i < g.size(); i++) result[slot[i]] = g[i];
    }
    return result;
  }
};
}  // namespace

LS_EXPORT int ls_checkpoint(LsSegmentFn fn, int64_t id, LsT* inputs, int nIn, LsT* params, int nParams, LsT* out,
                            int cap, int* nOut) {
  LS_TRY
  auto all = ls_list(inputs, nIn);
  for (int i = 0; i < nParams; i++) all.push_back(*params[i]);
  // TensorList (not a vector) so autograd sees each tensor as an input.
  auto r = CheckpointFunction::apply(at::TensorList(all), (int64_t)nIn, (int64_t)(intptr_t)fn, id, (int64_t)cap);
  ls_put_list(r, out, cap, nOut);
  LS_CATCH
}

// ---- a gradient computed ahead of backward ----
// forward(value, input, grad) returns a copy of value; backward sends gradOut * grad to input (cast
// to input's dtype) and nothing to value or grad. For losses whose gradient w.r.t. input is
// computed during the forward pass (e.g. a fused linear + cross-entropy): value is the loss, grad
// its gradient, of input's shape; gradOut broadcasts against grad (a scalar loss: any shape).
namespace {
struct GradInjectionFunction : public torch::autograd::Function<GradInjectionFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& value, const at::Tensor& input,
                            const at::Tensor& grad) {
    TORCH_CHECK(grad.sizes() == input.sizes(), "injected gradient has shape ", grad.sizes(), ", its input ",
                input.sizes());
    ctx->save_for_backward({grad});
    ctx->saved_data["input_dtype"] = (int64_t)input.scalar_type();
    return value.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOut) {
    auto saved = ctx->get_saved_variables();
    auto dtype = static_cast<at::ScalarType>(ctx->saved_data["input_dtype"].toInt());
    at::Tensor g;
    if (gradOut[0].defined()) g = (saved[0] * gradOut[0].to(saved[0].device())).to(dtype);
    return {at::Tensor(), g, at::Tensor()};
  }
};
}  // namespace

LS_EXPORT int ls_inject_grad(LsT value, LsT input, LsT grad, LsT* out) {
  LS_TRY ls_put(out, GradInjectionFunction::apply(*value, *input, *grad)); LS_CATCH
}

// ---- an operation whose forward and backward are Java code ----
// Java computes the outputs (without autograd history) and names the tensors backward needs; this node
// ties the outputs to the inputs and, in backward, calls the Java upcall with the outputs' gradients and
// the saved tensors; it returns one gradient per input (0 = none). For fused kernels whose backward is
// written by hand (torch.autograd.Function's role).
typedef int (*LsBackwardFn)(int64_t id, LsT* grads, int nGrads, LsT* saved, int nSaved, LsT* out, int nOut);

// Called with a node's id when the node is destroyed (after its backward, or with a graph freed without one), so
// that Java drops the backward it registered for that id; set once by Java.
typedef void (*LsReleaseFn)(int64_t id);
static std::atomic<LsReleaseFn> g_custom_release{nullptr};

LS_EXPORT int ls_set_custom_function_release(LsReleaseFn fn) {
  g_custom_release.store(fn);
  return 0;
}

namespace {
struct JavaFunction : public torch::autograd::Function<JavaFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                                                int64_t outsPtr, int64_t savedPtr, int64_t fnPtr, int64_t id) {
    auto& outs = *reinterpret_cast<std::vector<at::Tensor>*>(outsPtr);
    auto& saved = *reinterpret_cast<std::vector<at::Tensor>*>(savedPtr);
    ctx->save_for_backward(saved);
    ctx->saved_data["fn"] = fnPtr;
    ctx->saved_data["id"] = id;
    ctx->saved_data["n_in"] = (int64_t)inputs.size();
    // a one-element tensor whose deleter tells Java: it dies with the node's saved data
    if (LsReleaseFn rel = g_custom_release.load()) {
      auto* box = new int64_t(id);
      ctx->saved_data["release"] = at::from_blob(box, {1}, [rel](void* p) {
        int64_t i = *static_cast<int64_t*>(p);
        delete static_cast<int64_t*>(p);
        rel(i);
      }, at::TensorOptions().dtype(at::kLong));
    }
    return outs;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradOut) {
    auto saved = ctx->get_saved_variables();
    auto fn = reinterpret_cast<LsBackwardFn>(ctx->saved_data["fn"].toInt());
    int64_t id = ctx->saved_data["id"].toInt();
    int nIn = (int)ctx->saved_data["n_in"].toInt();
    std::vector<LsT> g(gradOut.size() + 1), sv(saved.size() + 1);
    for (size_t i = 0; i < gradOut.size(); i++) g[i] = gradOut[i].defined() ? new at::Tensor(gradOut[i]) : nullptr;
    for (size_t i = 0; i < saved.size(); i++) sv[i] = new at::Tensor(saved[i]);
    std::vector<LsT> out(nIn + 1, nullptr);
    int rc = fn(id, g.data(), (int)gradOut.size(), sv.data(), (int)saved.size(), out.data(), nIn);
    for (size_t i = 0; i < gradOut.size(); i++) delete g[i];
    for (size_t i = 0; i < saved.size(); i++) delete sv[i];
    torch::autograd::variable_list result(nIn + 4);  // + the 4 non-tensor arguments
    for (int i = 0; i < nIn; i++) {
      if (out[i]) { result[i] = *out[i]; delete out[i]; }
    }
    if (rc != 0) throw LsCallbackError("the backward of a Java-defined operation failed");
    return result;
  }
};
}  // namespace

LS_EXPORT int ls_custom_function(LsBackwardFn fn, int64_t id, LsT* inputs, int nIn, LsT* outputs, int nOut,
                                 LsT* saved, int nSaved, LsT* result) {
  LS_TRY
  auto in = ls_list(inputs, nIn);
  std::vector<at::Tensor> outs = ls_list(outputs, nOut), sv = ls_list(saved, nSaved);
  auto r = JavaFunction::apply(at::TensorList(in), (int64_t)(intptr_t)&outs, (int64_t)(intptr_t)&sv,
                               (int64_t)(intptr_t)fn, id);
  for (int i = 0; i < nOut; i++) result[i] = new at::Tensor(r[i]);
  LS_CATCH
}

// ---- fp16 dynamic loss scaling ----
// Multiplies every grad by invScale and sets foundInf (a 1-element float tensor) to 1 when any grad
// holds inf/nan. Uses the fused CUDA kernel for CUDA grads; composes the same for CPU grads.
LS_EXPORT int ls_amp_unscale_(LsT* grads, int n, LsT foundInf, LsT invScale) {
  LS_TRY
  std::vector<at::Tensor> cuda, cpu;
  for (int i = 0; i < n; i++) (grads[i]->is_cuda() ? cuda : cpu).push_back(*grads[i]);
  if (!cuda.empty()) at::_amp_foreach_non_finite_check_and_unscale_(cuda, *foundInf, *invScale);
  for (auto& g : cpu) {
    auto bad = g.isfinite().logical_not().any();
    foundInf->copy_(at::maximum(*foundInf, bad.to(foundInf->scalar_type()).to(foundInf->device())));
    g.mul_(invScale->to(g.device()));
  }
  LS_CATCH
}
// The scale update of torch.cuda.amp.GradScaler: on inf, scale *= backoff and reset the tracker;
// else count a good step and, after growthInterval good steps, scale *= growth.
LS_EXPORT int ls_amp_update_scale_(LsT scale, LsT growthTracker, LsT foundInf, double growth, double backoff,
                                   int64_t growthInterval) {
  LS_TRY
  if (scale->is_cuda()) {
    at::_amp_update_scale_(*scale, *growthTracker, *foundInf, growth, backoff, growthInterval);
  } else {
    if (foundInf->item<double>() > 0) {
      scale->mul_(backoff);
      growthTracker->fill_(0);
    } else {
      int64_t good = growthTracker->item<int64_t>() + 1;
      if (good == growthInterval) {
        double next = scale->item<double>() * growth;
        if (std::isfinite(next)) scale->fill_(next);
        good = 0;
      }
      growthTracker->fill_(good);
    }
  }
  LS_CATCH
}

// ---- optimizer kernels ----
LS_EXPORT int ls_has_fused_adamw(int* out) {
#if LS_TORCH_AT_LEAST(2, 2)
  *out = 1;
#else
  *out = 0;
#endif
  return LS_OK;
}
// One fused AdamW step over CUDA tensors (libtorch's _fused_adamw_). steps are 1-element float
// tensors, incremented by the kernel's caller (we increment them here, as torch.optim does). When
// foundInf is set the kernel leaves params and moments alone, and the step counts are taken back
// here (torch.optim's _fused_adamw does the same), so a skipped fp16 step does not shift the bias
// correction; all of it stays on the device, with no host sync.
LS_EXPORT int ls_fused_adamw_(LsT* params, LsT* grads, LsT* expAvg, LsT* expAvgSq, LsT* steps, int n, double lr,
                              double beta1, double beta2, double weightDecay, double eps, LsT gradScale, LsT foundInf) {
  LS_TRY
#if LS_TORCH_AT_LEAST(2, 2)
  auto st = ls_list(steps, n);
  at::_foreach_add_(st, 1);
  at::_fused_adamw_(ls_list(params, n), ls_list(grads, n), ls_list(expAvg, n), ls_list(expAvgSq, n), {}, st, lr,
                    beta1, beta2, weightDecay, eps, false, false, ls_optional(gradScale), ls_optional(foundInf));
  if (foundInf) at::_foreach_sub_(st, std::vector<at::Tensor>(st.size(), *foundInf));
#else
  TORCH_CHECK(false, "fused AdamW needs libtorch 2.2 or newer");
#endif
  LS_CATCH
}
// The same with the learning rate in a one-element f32 device tensor, so a captured CUDA graph
// takes each step's rate from the tensor instead of baking in the value it saw at capture.
LS_EXPORT int ls_has_fused_adamw_tensor_lr(int* out) {
  LS_TRY
#if LS_TORCH_AT_LEAST(2, 4)
  *out = 1;
#else
  *out = 0;
#endif
  LS_CATCH
}
LS_EXPORT int ls_fused_adamw_tensor_lr_(LsT* params, LsT* grads, LsT* expAvg, LsT* expAvgSq, LsT* steps, int n, LsT lr,
                                        double beta1, double beta2, double weightDecay, double eps, LsT gradScale,
                                        LsT foundInf) {
  LS_TRY
#if LS_TORCH_AT_LEAST(2, 4)
  auto st = ls_list(steps, n);
  at::_foreach_add_(st, 1);
  at::_fused_adamw_(ls_list(params, n), ls_list(grads, n), ls_list(expAvg, n), ls_list(expAvgSq, n), {}, st, *lr,
                    beta1, beta2, weightDecay, eps, false, false, ls_optional(gradScale), ls_optional(foundInf));
  if (foundInf) at::_foreach_sub_(st, std::vector<at::Tensor>(st.size(), *foundInf));
#else
  TORCH_CHECK(false, "fused AdamW with a tensor learning rate needs libtorch 2.4 or newer");
#endif
  LS_CATCH
}
// Multiplies every tensor in place by a one-element tensor (clipping without reading the norm back).
LS_EXPORT int ls_foreach_mul_tensor_(LsT* ts, int n, LsT factor) {
  LS_TRY
  auto l = ls_list(ts, n);
#if LS_TORCH_AT_LEAST(2, 1)
  at::_foreach_mul_(l, *factor);
#else
  for (auto& t : l) t.mul_(*factor);
#endif
  LS_CATCH
}
// Multi-tensor ops used by the optimizer where no fused kernel exists.
LS_EXPORT int ls_foreach_mul_scalar_(LsT* ts, int n, double s) { LS_TRY auto l = ls_list(ts, n); at::_foreach_mul_(l, s); LS_CATCH }
LS_EXPORT int ls_foreach_norm(LsT* ts, int n, double p, LsT* out) {
  LS_TRY
  int written = 0;
  ls_put_list(at::_foreach_norm(ls_list(ts, n), p), out, n, &written);
  LS_CATCH
}
