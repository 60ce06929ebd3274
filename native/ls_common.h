// Common definitions of the lora-scripts native shim.
// Contract (see docs/DESIGN.md, "Native layer"): every export returns an int status (0 = ok); results go through
// out-pointers; a C++ exception never crosses the C boundary: LS_CATCH turns it into a status and a
// thread-local message that Java reads with ls_last_error() only when the status is non-zero.
#pragma once
#include <ATen/ATen.h>
#include <torch/version.h>
#include <cstdint>
#include <string>

#define LS_TORCH_AT_LEAST(maj, min) \
  (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

typedef at::Tensor* LsT;

// libtorch 2.x moved to std::optional; 1.13 has its own c10::optional.
#if LS_TORCH_AT_LEAST(2, 4)
#include <optional>
template <class T>
using LsOptional = std::optional<T>;
#define LS_NULLOPT std::nullopt
#else
template <class T>
using LsOptional = c10::optional<T>;
#define LS_NULLOPT c10::nullopt
#endif

// Status codes, mirrored by org.lorascripts.ffi.Status.
enum LsStatus : int {
  LS_OK = 0,
  LS_ERR_TORCH = 1,     // c10::Error: shape, dtype, device and argument errors carry libtorch's text
  LS_ERR_OOM = 2,       // device (or host) out of memory
  LS_ERR_NATIVE = 3,    // any other std::exception or unknown throw
  LS_ERR_CALLBACK = 4,  // a Java upcall reported a failure (its message is kept on the Java side)
};

void ls_set_error(const char* msg);

// CUDA's allocator throws c10::OutOfMemoryError; the CPU allocator a plain c10::Error with this text.
inline bool ls_is_oom_message(const char* m) {
  std::string s(m);
  return s.find("out of memory") != std::string::npos || s.find("can't allocate memory") != std::string::npos;
}

struct LsCallbackError : public std::runtime_error {
  explicit LsCallbackError(const std::string& m) : std::runtime_error(m) {}
};

#define LS_EXPORT extern "C" __attribute__((visibility("default")))
#define LS_TRY try {
#define LS_CATCH                                                              \
  return LS_OK;                                                               \
  }                                                                           \
  catch (const c10::OutOfMemoryError& e) {                                    \
    ls_set_error(e.what_without_backtrace());                                 \
    return LS_ERR_OOM;                                                        \
  }                                                                           \
  catch (const c10::Error& e) {                                               \
    const char* m = e.what_without_backtrace();                               \
    ls_set_error(m);                                                          \
    return ls_is_oom_message(m) ? LS_ERR_OOM : LS_ERR_TORCH;                 \
  }                                                                           \
  catch (const LsCallbackError& e) {                                          \
    ls_set_error(e.what());                                                   \
    return LS_ERR_CALLBACK;                                                   \
  }                                                                           \
  catch (const std::bad_alloc& e) {                                           \
    ls_set_error("host out of memory (std::bad_alloc)");                      \
    return LS_ERR_OOM;                                                        \
  }                                                                           \
  catch (const std::exception& e) {                                           \
    ls_set_error(e.what());                                                   \
    return LS_ERR_NATIVE;                                                     \
  }                                                                           \
  catch (...) {                                                               \
    ls_set_error("unknown native exception");                                 \
    return LS_ERR_NATIVE;                                                     \
  }

inline LsT ls_wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline void ls_put(LsT* out, at::Tensor t) { *out = ls_wrap(std::move(t)); }
// An undefined result (e.g. a missing .grad) is reported as a null handle.
inline void ls_put_opt(LsT* out, const at::Tensor& t) { *out = t.defined() ? ls_wrap(t) : nullptr; }

inline at::IntArrayRef ls_dims(const int64_t* d, int n) { return at::IntArrayRef(d, (size_t)n); }
// A dtype code from Java, checked against this libtorch's range: a code it does not know (float8 before 2.1) is an
// error with a message, not an abort deep inside libtorch.
inline at::ScalarType ls_dtype(int code) {
  TORCH_CHECK(code >= 0 && code < static_cast<int>(at::ScalarType::NumOptions), "dtype code ", code,
              " is not a type of libtorch ", TORCH_VERSION_MAJOR, ".", TORCH_VERSION_MINOR);
  return static_cast<at::ScalarType>(code);
}
inline at::Device ls_device(int type, int index) {
  return at::Device(static_cast<at::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}
inline at::TensorOptions ls_options(int dtype, int devType, int devIndex) {
  return at::TensorOptions().dtype(ls_dtype(dtype)).device(ls_device(devType, devIndex));
}
inline at::Tensor ls_opt(LsT t) { return t ? *t : at::Tensor(); }
inline LsOptional<at::Tensor> ls_optional(LsT t) {
  return t ? LsOptional<at::Tensor>(*t) : LS_NULLOPT;
}
inline std::vector<at::Tensor> ls_list(LsT* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(*ts[i]);
  return v;
}
// Writes a list of results into out[0..cap); fails (instead of overflowing) when cap is too small.
inline void ls_put_list(const std::vector<at::Tensor>& v, LsT* out, int cap, int* n) {
  TORCH_CHECK((int)v.size() <= cap, "result has ", v.size(), " tensors but the caller made room for ", cap);
  for (size_t i = 0; i < v.size(); i++) out[i] = ls_wrap(v[i]);
  *n = (int)v.size();
}
