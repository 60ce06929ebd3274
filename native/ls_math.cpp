// Elementwise math, comparisons, reductions and matrix products.
// Unary and binary ops are selected by code; the codes are mirrored by org.lorascripts.ffi.MathOps.
#include "ls_common.h"

namespace {
at::Tensor unary(int op, const at::Tensor& a) {
  switch (op) {
    case 0: return at::neg(a);
    case 1: return at::abs(a);
    case 2: return at::exp(a);
    case 3: return at::log(a);
    case 4: return at::sqrt(a);
    case 5: return at::rsqrt(a);
    case 6: return at::sin(a);
    case 7: return at::cos(a);
    case 8: return at::tanh(a);
    case 9: return at::sigmoid(a);
    case 10: return at::relu(a);
    case 11: return at::silu(a);
    case 12: return at::gelu(a, "none");
    case 13: return at::gelu(a, "tanh");
    case 14: return at::reciprocal(a);
    case 15: return at::square(a);
    case 16: return at::floor(a);
    case 17: return at::ceil(a);
    case 18: return at::round(a);
    case 19: return at::sign(a);
    case 20: return at::logical_not(a);
    case 21: return at::isnan(a);
    case 22: return at::isinf(a);
    case 23: return at::isfinite(a);
    case 24: return at::log1p(a);
    case 25: return at::expm1(a);
    case 26: return at::erf(a);
    case 27: return at::softplus(a);
  }
  TORCH_CHECK(false, "unknown unary op code ", op);
}
void unary_(int op, at::Tensor& a) {
  switch (op) {
    case 0: a.neg_(); return;
    case 1: a.abs_(); return;
    case 2: a.exp_(); return;
    case 3: a.log_(); return;
    case 4: a.sqrt_(); return;
    case 5: a.rsqrt_(); return;
    case 8: a.tanh_(); return;
    case 9: a.sigmoid_(); return;
    case 10: a.relu_(); return;
    case 11: at::silu_(a); return;
    case 14: a.reciprocal_(); return;
    case 15: a.square_(); return;
  }
  a.copy_(unary(op, a));
}
at::Tensor binary(int op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 13: return at::logical_and(a, b);
    case 14: return at::logical_or(a, b);
    case 15: return at::remainder(a, b);
    case 16: return at::atan2(a, b);
    case 17: return at::div(a, b, "floor");
  }
  TORCH_CHECK(false, "unknown binary op code ", op);
}
void binary_(int op, at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: a.add_(b); return;
    case 1: a.sub_(b); return;
    case 2: a.mul_(b); return;
    case 3: a.div_(b); return;
    case 4: a.pow_(b); return;
  }
  a.copy_(binary(op, a, b));
}
at::Tensor binary_scalar(int op, const at::Tensor& a, double s) {
  switch (op) {
    case 0: return at::add(a, s);
    case 1: return at::sub(a, s);
    case 2: return at::mul(a, s);
    case 3: return at::div(a, s);
    case 4: return at::pow(a, s);
    case 5: return at::clamp_min(a, s);
    case 6: return at::clamp_max(a, s);
    case 7: return at::eq(a, s);
    case 8: return at::ne(a, s);
    case 9: return at::lt(a, s);
    case 10: return at::le(a, s);
    case 11: return at::gt(a, s);
    case 12: return at::ge(a, s);
    case 15: return at::remainder(a, s);
    case 18: return at::rsub(a, s);  // s - a
  }
  TORCH_CHECK(false, "unknown scalar op code ", op);
}
void binary_scalar_(int op, at::Tensor& a, double s) {
  switch (op) {
    case 0: a.add_(s); return;
    case 1: a.sub_(s); return;
    case 2: a.mul_(s); return;
    case 3: a.div_(s); return;
    case 4: a.pow_(s); return;
    case 5: a.clamp_min_(s); return;
    case 6: a.clamp_max_(s); return;
  }
  a.copy_(binary_scalar(op, a, s));
}
}  // namespace

LS_EXPORT int ls_unary(int op, LsT a, LsT* out) { LS_TRY ls_put(out, unary(op, *a)); LS_CATCH }
LS_EXPORT int ls_unary_(int op, LsT a) { LS_TRY unary_(op, *a); LS_CATCH }
LS_EXPORT int ls_binary(int op, LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, binary(op, *a, *b)); LS_CATCH }
LS_EXPORT int ls_binary_(int op, LsT a, LsT b) { LS_TRY binary_(op, *a, *b); LS_CATCH }
LS_EXPORT int ls_binary_scalar(int op, LsT a, double s, LsT* out) { LS_TRY ls_put(out, binary_scalar(op, *a, s)); LS_CATCH }
LS_EXPORT int ls_binary_scalar_(int op, LsT a, double s) { LS_TRY binary_scalar_(op, *a, s); LS_CATCH }

LS_EXPORT int ls_add_scaled(LsT a, LsT b, double alpha, LsT* out) { LS_TRY ls_put(out, at::add(*a, *b, alpha)); LS_CATCH }
LS_EXPORT int ls_add_scaled_(LsT a, LsT b, double alpha) { LS_TRY a->add_(*b, alpha); LS_CATCH }
LS_EXPORT int ls_addcmul_(LsT a, LsT b, LsT c, double value) { LS_TRY a->addcmul_(*b, *c, value); LS_CATCH }
LS_EXPORT int ls_addcdiv_(LsT a, LsT b, LsT c, double value) { LS_TRY a->addcdiv_(*b, *c, value); LS_CATCH }
LS_EXPORT int ls_lerp_(LsT a, LsT end, double weight) { LS_TRY a->lerp_(*end, weight); LS_CATCH }
LS_EXPORT int ls_clamp(LsT a, double lo, double hi, int hasLo, int hasHi, LsT* out) {
  LS_TRY
  LsOptional<at::Scalar> l = hasLo ? LsOptional<at::Scalar>(lo) : LS_NULLOPT;
  LsOptional<at::Scalar> h = hasHi ? LsOptional<at::Scalar>(hi) : LS_NULLOPT;
  ls_put(out, at::clamp(*a, l, h));
  LS_CATCH
}

// ---- reductions (dims == nullptr / n == 0 reduces over all dims) ----
LS_EXPORT int ls_sum(LsT a, const int64_t* dims, int n, int keepdim, int dtype, LsT* out) {
  LS_TRY
  LsOptional<at::ScalarType> dt = dtype >= 0 ? LsOptional<at::ScalarType>(ls_dtype(dtype)) : LS_NULLOPT;
  ls_put(out, n == 0 ? at::sum(*a, dt) : at::sum(*a, ls_dims(dims, n), keepdim != 0, dt));
  LS_CATCH
}
LS_EXPORT int ls_mean(LsT a, const int64_t* dims, int n, int keepdim, LsT* out) {
  LS_TRY ls_put(out, n == 0 ? at::mean(*a) : at::mean(*a, ls_dims(dims, n), keepdim != 0)); LS_CATCH
}
LS_EXPORT int ls_var(LsT a, const int64_t* dims, int n, int unbiased, int keepdim, LsT* out) {
  LS_TRY
  ls_put(out, n == 0 ? at::var(*a, unbiased != 0) : at::var(*a, ls_dims(dims, n), unbiased != 0, keepdim != 0));
  LS_CATCH
}
LS_EXPORT int ls_amax(LsT a, const int64_t* dims, int n, int keepdim, LsT* out) {
  LS_TRY ls_put(out, n == 0 ? at::max(*a) : at::amax(*a, ls_dims(dims, n), keepdim != 0)); LS_CATCH
}
LS_EXPORT int ls_amin(LsT a, const int64_t* dims, int n, int keepdim, LsT* out) {
  LS_TRY ls_put(out, n == 0 ? at::min(*a) : at::amin(*a, ls_dims(dims, n), keepdim != 0)); LS_CATCH
}
LS_EXPORT int ls_max_dim(LsT a, int64_t dim, int keepdim, LsT* values, LsT* indices) {
  LS_TRY
  auto r = at::max(*a, dim, keepdim != 0);
  ls_put(values, std::get<0>(r));
  ls_put(indices, std::get<1>(r));
  LS_CATCH
}
LS_EXPORT int ls_argmax(LsT a, int64_t dim, int keepdim, LsT* out) { LS_TRY ls_put(out, at::argmax(*a, dim, keepdim != 0)); LS_CATCH }
LS_EXPORT int ls_argmin(LsT a, int64_t dim, int keepdim, LsT* out) { LS_TRY ls_put(out, at::argmin(*a, dim, keepdim != 0)); LS_CATCH }
LS_EXPORT int ls_logsumexp(LsT a, const int64_t* dims, int n, int keepdim, LsT* out) {
  LS_TRY ls_put(out, at::logsumexp(*a, ls_dims(dims, n), keepdim != 0)); LS_CATCH
}
LS_EXPORT int ls_norm(LsT a, double p, const int64_t* dims, int n, int keepdim, LsT* out) {
  LS_TRY ls_put(out, n == 0 ? at::norm(*a, p) : at::norm(*a, p, ls_dims(dims, n), keepdim != 0)); LS_CATCH
}
LS_EXPORT int ls_all(LsT a, LsT* out) { LS_TRY ls_put(out, at::all(*a)); LS_CATCH }
LS_EXPORT int ls_any(LsT a, LsT* out) { LS_TRY ls_put(out, at::any(*a)); LS_CATCH }
// torch.bucketize: per element of a, the index of its bucket in the sorted 1-D boundaries (int64).
LS_EXPORT int ls_bucketize(LsT a, LsT boundaries, int64_t right, LsT* out) {
  LS_TRY ls_put(out, at::bucketize(*a, *boundaries, /*out_int32=*/false, right != 0)); LS_CATCH
}
LS_EXPORT int ls_cumsum(LsT a, int64_t dim, LsT* out) { LS_TRY ls_put(out, at::cumsum(*a, dim)); LS_CATCH }
LS_EXPORT int ls_topk(LsT a, int64_t k, int64_t dim, int largest, int sorted, LsT* values, LsT* indices) {
  LS_TRY
  auto r = at::topk(*a, k, dim, largest != 0, sorted != 0);
  ls_put(values, std::get<0>(r));
  ls_put(indices, std::get<1>(r));
  LS_CATCH
}
LS_EXPORT int ls_sort(LsT a, int64_t dim, int descending, LsT* values, LsT* indices) {
  LS_TRY
  auto r = at::sort(*a, dim, descending != 0);
  ls_put(values, std::get<0>(r));
  ls_put(indices, std::get<1>(r));
  LS_CATCH
}
LS_EXPORT int ls_multinomial(LsT probs, int64_t n, int replacement, LsT* out) {
  LS_TRY ls_put(out, at::multinomial(*probs, n, replacement != 0)); LS_CATCH
}

// ---- products ----
LS_EXPORT int ls_matmul(LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, at::matmul(*a, *b)); LS_CATCH }
LS_EXPORT int ls_mm(LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, at::mm(*a, *b)); LS_CATCH }
LS_EXPORT int ls_bmm(LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, at::bmm(*a, *b)); LS_CATCH }
LS_EXPORT int ls_baddbmm(LsT self, LsT b1, LsT b2, double beta, double alpha, LsT* out) {
  LS_TRY ls_put(out, at::baddbmm(*self, *b1, *b2, beta, alpha)); LS_CATCH
}
LS_EXPORT int ls_addmm(LsT self, LsT m1, LsT m2, double beta, double alpha, LsT* out) {
  LS_TRY ls_put(out, at::addmm(*self, *m1, *m2, beta, alpha)); LS_CATCH
}
LS_EXPORT int ls_linear(LsT x, LsT w, LsT b, LsT* out) { LS_TRY ls_put(out, at::linear(*x, *w, ls_optional(b))); LS_CATCH }
LS_EXPORT int ls_einsum(const char* eq, LsT* ts, int n, LsT* out) { LS_TRY ls_put(out, at::einsum(eq, ls_list(ts, n))); LS_CATCH }
// Thin SVD (torch.linalg.svd(a, full_matrices=False)): a = u @ diag(s) @ vh, s descending.
LS_EXPORT int ls_linalg_svd(LsT a, LsT* u, LsT* s, LsT* vh) {
  LS_TRY
  auto r = at::linalg_svd(*a, false);
  ls_put(u, std::get<0>(r));
  ls_put(s, std::get<1>(r));
  ls_put(vh, std::get<2>(r));
  LS_CATCH
}
LS_EXPORT int ls_outer(LsT a, LsT b, LsT* out) { LS_TRY ls_put(out, at::outer(*a, *b)); LS_CATCH }
