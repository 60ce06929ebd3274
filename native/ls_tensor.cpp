// Tensor basics: lifetime, creation, metadata, copies and views.
#include "ls_common.h"
#include <torch/cuda.h>
#include <cstring>

static thread_local std::string g_last_error;
void ls_set_error(const char* msg) { g_last_error = msg ? msg : "(no message)"; }

LS_EXPORT const char* ls_last_error() { return g_last_error.c_str(); }

LS_EXPORT int ls_torch_version(int* major, int* minor, int* patch) {
  *major = TORCH_VERSION_MAJOR;
  *minor = TORCH_VERSION_MINOR;
  *patch = TORCH_VERSION_PATCH;
  return LS_OK;
}

// Java checks its enum codes against these at load time.
LS_EXPORT int ls_dtype_code(const char* name, int* out) {
  LS_TRY
  std::string n(name);
  at::ScalarType t;
  if (n == "u8") t = at::kByte; else if (n == "i8") t = at::kChar; else if (n == "i16") t = at::kShort;
  else if (n == "i32") t = at::kInt; else if (n == "i64") t = at::kLong; else if (n == "f16") t = at::kHalf;
  else if (n == "f32") t = at::kFloat; else if (n == "f64") t = at::kDouble; else if (n == "bool") t = at::kBool;
  else if (n == "bf16") t = at::kBFloat16;
  else if (n == "f8e4m3") {
    // float8_e4m3fn came with libtorch 2.1; before it the type is absent, reported as -1
#if LS_TORCH_AT_LEAST(2, 1)
    t = at::kFloat8_e4m3fn;
#else
    *out = -1;
    return LS_OK;
#endif
  }
  else TORCH_CHECK(false, "unknown dtype name ", n);
  *out = static_cast<int>(t);
  LS_CATCH
}

LS_EXPORT int ls_device_type_code(const char* name, int* out) {
  LS_TRY
  std::string n(name);
  TORCH_CHECK(n == "cpu" || n == "cuda", "unknown device type ", n);
  *out = static_cast<int>(n == "cpu" ? at::DeviceType::CPU : at::DeviceType::CUDA);
  LS_CATCH
}

LS_EXPORT int ls_free(LsT t) {
  delete t;
  return LS_OK;
}

LS_EXPORT int ls_shallow_copy(LsT t, LsT* out) { LS_TRY ls_put(out, *t); LS_CATCH }

// ---- metadata ----
LS_EXPORT int ls_dim(LsT t, int* out) { LS_TRY *out = (int)t->dim(); LS_CATCH }
LS_EXPORT int ls_sizes(LsT t, int64_t* out, int cap) {
  LS_TRY
  TORCH_CHECK(t->dim() <= cap, "tensor has ", t->dim(), " dims, buffer holds ", cap);
  for (int64_t i = 0; i < t->dim(); i++) out[i] = t->size(i);
  LS_CATCH
}
LS_EXPORT int ls_strides(LsT t, int64_t* out, int cap) {
  LS_TRY
  TORCH_CHECK(t->dim() <= cap, "tensor has ", t->dim(), " dims, buffer holds ", cap);
  for (int64_t i = 0; i < t->dim(); i++) out[i] = t->stride(i);
  LS_CATCH
}
LS_EXPORT int ls_scalar_type(LsT t, int* out) { LS_TRY *out = (int)t->scalar_type(); LS_CATCH }
LS_EXPORT int ls_device_of(LsT t, int* type, int* index) {
  LS_TRY
  *type = (int)t->device().type();
  *index = (int)t->device().index();
  LS_CATCH
}
LS_EXPORT int ls_numel(LsT t, int64_t* out) { LS_TRY *out = t->numel(); LS_CATCH }
LS_EXPORT int ls_is_contiguous(LsT t, int* out) { LS_TRY *out = t->is_contiguous() ? 1 : 0; LS_CATCH }
LS_EXPORT int ls_data_ptr(LsT t, void** out) { LS_TRY *out = t->data_ptr(); LS_CATCH }
LS_EXPORT int ls_item_double(LsT t, double* out) { LS_TRY *out = t->item<double>(); LS_CATCH }
LS_EXPORT int ls_item_long(LsT t, int64_t* out) { LS_TRY *out = t->item<int64_t>(); LS_CATCH }

// ---- creation ----
LS_EXPORT int ls_empty(const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::empty(ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_zeros(const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::zeros(ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_ones(const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::ones(ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_full(const int64_t* dims, int n, double value, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::full(ls_dims(dims, n), value, ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_randn(const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::randn(ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_rand(const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::rand(ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_randint(int64_t low, int64_t high, const int64_t* dims, int n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::randint(low, high, ls_dims(dims, n), ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_randperm(int64_t n, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::randperm(n, ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_arange(double start, double end, double step, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::arange(start, end, step, ls_options(dtype, devType, devIndex))); LS_CATCH
}
LS_EXPORT int ls_linspace(double start, double end, int64_t steps, int dtype, int devType, int devIndex, LsT* out) {
  LS_TRY ls_put(out, at::linspace(start, end, steps, ls_options(dtype, devType, devIndex))); LS_CATCH
}
// Copies nbytes of host memory into a new CPU tensor (the caller's memory may be freed afterwards).
LS_EXPORT int ls_from_host(const void* data, int64_t nbytes, const int64_t* dims, int n, int dtype, LsT* out) {
  LS_TRY
  auto t = at::empty(ls_dims(dims, n), at::TensorOptions().dtype(ls_dtype(dtype)));
  TORCH_CHECK((int64_t)t.nbytes() == nbytes, "from_host: ", nbytes, " bytes given for a tensor of ", t.nbytes(), " bytes");
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, (size_t)nbytes);
  ls_put(out, t);
  LS_CATCH
}
// Wraps host memory without copying: the caller keeps it alive (and unmodified) while the tensor lives.
LS_EXPORT int ls_from_host_nocopy(void* data, const int64_t* dims, int n, int dtype, LsT* out) {
  LS_TRY ls_put(out, at::from_blob(data, ls_dims(dims, n), at::TensorOptions().dtype(ls_dtype(dtype)))); LS_CATCH
}
LS_EXPORT int ls_to_host(LsT t, void* data, int64_t nbytes) {
  LS_TRY
  auto c = t->detach().to(at::kCPU).contiguous();
  TORCH_CHECK((int64_t)c.nbytes() == nbytes, "to_host: buffer of ", nbytes, " bytes for a tensor of ", c.nbytes(), " bytes");
  if (nbytes > 0) std::memcpy(data, c.data_ptr(), (size_t)nbytes);
  LS_CATCH
}

// ---- conversion and copies ----
LS_EXPORT int ls_to(LsT t, int dtype, int devType, int devIndex, int nonBlocking, int copy, LsT* out) {
  LS_TRY ls_put(out, t->to(ls_device(devType, devIndex), ls_dtype(dtype), nonBlocking != 0, copy != 0)); LS_CATCH
}
LS_EXPORT int ls_to_dtype(LsT t, int dtype, LsT* out) { LS_TRY ls_put(out, t->to(ls_dtype(dtype))); LS_CATCH }
LS_EXPORT int ls_clone(LsT t, LsT* out) { LS_TRY ls_put(out, t->clone()); LS_CATCH }
LS_EXPORT int ls_contiguous(LsT t, LsT* out) { LS_TRY ls_put(out, t->contiguous()); LS_CATCH }
LS_EXPORT int ls_copy_(LsT dst, LsT src) { LS_TRY dst->copy_(*src); LS_CATCH }
LS_EXPORT int ls_fill_(LsT t, double v) { LS_TRY t->fill_(v); LS_CATCH }
LS_EXPORT int ls_zero_(LsT t) { LS_TRY t->zero_(); LS_CATCH }
LS_EXPORT int ls_normal_(LsT t, double mean, double std) { LS_TRY t->normal_(mean, std); LS_CATCH }
LS_EXPORT int ls_uniform_(LsT t, double from, double to) { LS_TRY t->uniform_(from, to); LS_CATCH }

// ---- views and shape ----
LS_EXPORT int ls_view(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->view(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_reshape(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->reshape(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_permute(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->permute(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_expand(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->expand(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_repeat(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->repeat(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_flip(LsT t, const int64_t* dims, int n, LsT* out) { LS_TRY ls_put(out, t->flip(ls_dims(dims, n))); LS_CATCH }
LS_EXPORT int ls_transpose(LsT t, int64_t d0, int64_t d1, LsT* out) { LS_TRY ls_put(out, t->transpose(d0, d1)); LS_CATCH }
LS_EXPORT int ls_narrow(LsT t, int64_t dim, int64_t start, int64_t len, LsT* out) { LS_TRY ls_put(out, t->narrow(dim, start, len)); LS_CATCH }
LS_EXPORT int ls_slice(LsT t, int64_t dim, int64_t start, int64_t end, int64_t step, LsT* out) {
  LS_TRY ls_put(out, t->slice(dim, start, end, step)); LS_CATCH
}
LS_EXPORT int ls_select(LsT t, int64_t dim, int64_t index, LsT* out) { LS_TRY ls_put(out, t->select(dim, index)); LS_CATCH }
LS_EXPORT int ls_squeeze(LsT t, int64_t dim, LsT* out) { LS_TRY ls_put(out, t->squeeze(dim)); LS_CATCH }
LS_EXPORT int ls_unsqueeze(LsT t, int64_t dim, LsT* out) { LS_TRY ls_put(out, t->unsqueeze(dim)); LS_CATCH }
LS_EXPORT int ls_flatten(LsT t, int64_t start, int64_t end, LsT* out) { LS_TRY ls_put(out, t->flatten(start, end)); LS_CATCH }
LS_EXPORT int ls_tril(LsT t, int64_t diag, LsT* out) { LS_TRY ls_put(out, t->tril(diag)); LS_CATCH }
LS_EXPORT int ls_triu(LsT t, int64_t diag, LsT* out) { LS_TRY ls_put(out, t->triu(diag)); LS_CATCH }
LS_EXPORT int ls_cat(LsT* ts, int n, int64_t dim, LsT* out) { LS_TRY ls_put(out, at::cat(ls_list(ts, n), dim)); LS_CATCH }
LS_EXPORT int ls_stack(LsT* ts, int n, int64_t dim, LsT* out) { LS_TRY ls_put(out, at::stack(ls_list(ts, n), dim)); LS_CATCH }
LS_EXPORT int ls_chunk(LsT t, int64_t chunks, int64_t dim, LsT* out, int cap, int* n) {
  LS_TRY ls_put_list(t->chunk(chunks, dim), out, cap, n); LS_CATCH
}
LS_EXPORT int ls_split_sizes(LsT t, const int64_t* sizes, int ns, int64_t dim, LsT* out, int cap, int* n) {
  LS_TRY ls_put_list(t->split_with_sizes(ls_dims(sizes, ns), dim), out, cap, n); LS_CATCH
}

// ---- indexing ----
LS_EXPORT int ls_index_select(LsT t, int64_t dim, LsT index, LsT* out) { LS_TRY ls_put(out, t->index_select(dim, *index)); LS_CATCH }
LS_EXPORT int ls_gather(LsT t, int64_t dim, LsT index, LsT* out) { LS_TRY ls_put(out, t->gather(dim, *index)); LS_CATCH }
LS_EXPORT int ls_index(LsT t, LsT index, LsT* out) {
  LS_TRY ls_put(out, t->index({*index})); LS_CATCH
}
LS_EXPORT int ls_masked_fill(LsT t, LsT mask, double value, LsT* out) { LS_TRY ls_put(out, t->masked_fill(*mask, value)); LS_CATCH }
LS_EXPORT int ls_where(LsT cond, LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, at::where(*cond, *a, *b)); LS_CATCH }
LS_EXPORT int ls_index_put_(LsT t, LsT index, LsT values, int accumulate) {
  LS_TRY
  c10::List<LsOptional<at::Tensor>> idx;
  idx.push_back(*index);
  t->index_put_(idx, *values, accumulate != 0);
  LS_CATCH
}

// ---- devices (no CUDA headers needed: these go through libtorch's CUDA hooks) ----
LS_EXPORT int ls_cuda_available(int* out) { LS_TRY *out = torch::cuda::is_available() ? 1 : 0; LS_CATCH }
LS_EXPORT int ls_cuda_device_count(int* out) { LS_TRY *out = (int)torch::cuda::device_count(); LS_CATCH }
LS_EXPORT int ls_cuda_bf16_supported(int* out) {
  LS_TRY
  *out = 0;
  if (torch::cuda::is_available()) {
    // A bf16 matmul on the device is the check that covers every driver/arch combination.
    auto a = at::ones({2, 2}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
    *out = at::mm(a, a).sum().item<double>() == 8.0 ? 1 : 0;
  }
  LS_CATCH
}

// TF32 for fp32 matmuls and convolutions on Ampere+ (PyTorch: allow_tf32 / float32_matmul_precision).
LS_EXPORT int ls_set_tf32(int on) {
  LS_TRY
  at::globalContext().setFloat32MatmulPrecision(on ? "high" : "highest");
  at::globalContext().setAllowTF32CuDNN(on != 0);
  LS_CATCH
}
