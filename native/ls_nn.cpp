// Neural-network ops: convolution, normalisation, activations, attention, resampling, losses.
#include "ls_common.h"
#include <cmath>

LS_EXPORT int ls_conv2d(LsT x, LsT w, LsT b, const int64_t* stride, const int64_t* padding,
                        const int64_t* dilation, int64_t groups, LsT* out) {
  LS_TRY
  ls_put(out, at::conv2d(*x, *w, ls_optional(b), ls_dims(stride, 2), ls_dims(padding, 2), ls_dims(dilation, 2), groups));
  LS_CATCH
}
// The input gradient of conv2d (frozen weights stored compactly, whose product runs as an operation of its own):
// a transposed convolution of the output's gradient, output_padding making up what the forward's stride dropped.
LS_EXPORT int ls_conv_transpose2d(LsT x, LsT w, const int64_t* stride, const int64_t* padding, const int64_t* outputPadding,
                                  const int64_t* dilation, int64_t groups, LsT* out) {
  LS_TRY
  ls_put(out, at::conv_transpose2d(*x, *w, c10::nullopt, ls_dims(stride, 2), ls_dims(padding, 2), ls_dims(outputPadding, 2),
                                   groups, ls_dims(dilation, 2)));
  LS_CATCH
}
LS_EXPORT int ls_group_norm(LsT x, int64_t groups, LsT w, LsT b, double eps, LsT* out) {
  LS_TRY ls_put(out, at::group_norm(*x, groups, ls_optional(w), ls_optional(b), eps, true)); LS_CATCH
}
LS_EXPORT int ls_layer_norm(LsT x, const int64_t* shape, int n, LsT w, LsT b, double eps, LsT* out) {
  LS_TRY ls_put(out, at::layer_norm(*x, ls_dims(shape, n), ls_optional(w), ls_optional(b), eps, true)); LS_CATCH
}
// RMS norm over the last dim, computed in fp32 and cast back, as LLaMA's reference does:
// w * (x.float() * rsqrt(mean(x.float()^2) + eps)).to(x.dtype)
LS_EXPORT int ls_rms_norm(LsT x, LsT w, double eps, LsT* out) {
  LS_TRY
  // f64 inputs (gradient checks) stay f64; everything narrower computes in f32.
  auto xf = x->to(x->scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
  auto y = (xf * at::rsqrt(xf.pow(2).mean({-1}, true) + eps)).to(x->scalar_type());
  ls_put(out, w ? *w * y : y);
  LS_CATCH
}
LS_EXPORT int ls_softmax(LsT x, int64_t dim, int dtype, LsT* out) {
  LS_TRY
  LsOptional<at::ScalarType> dt = dtype >= 0 ? LsOptional<at::ScalarType>(ls_dtype(dtype)) : LS_NULLOPT;
  ls_put(out, at::softmax(*x, dim, dt));
  LS_CATCH
}
LS_EXPORT int ls_log_softmax(LsT x, int64_t dim, int dtype, LsT* out) {
  LS_TRY
  LsOptional<at::ScalarType> dt = dtype >= 0 ? LsOptional<at::ScalarType>(ls_dtype(dtype)) : LS_NULLOPT;
  ls_put(out, at::log_softmax(*x, dim, dt));
  LS_CATCH
}

// The attention composition used where libtorch has no scaled_dot_product_attention (1.13), and
// by tests as the reference. mask: bool (true = attend) or additive float, broadcastable to
// (B, H, Tq, Tk). scale <= 0 means 1/sqrt(head_dim).
static at::Tensor sdpa_composed(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& mask, double dropout, bool causal, double scale) {
  double s = scale > 0 ? scale : 1.0 / std::sqrt((double)q.size(-1));
  auto scores = at::matmul(q, k.transpose(-2, -1)) * s;  // (B, H, Tq, Tk)
  if (causal) {
    auto keep = at::ones({q.size(-2), k.size(-2)}, q.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.defined()) {
    if (mask.scalar_type() == at::kBool) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
    else scores = scores + mask;
  }
  auto p = at::softmax(scores, -1);
  if (dropout > 0) p = at::dropout(p, dropout, true);
  return at::matmul(p, v);
}

LS_EXPORT int ls_has_native_sdpa(int* out) {
#if LS_TORCH_AT_LEAST(2, 1)
  *out = 1;
#else
  *out = 0;
#endif
  return LS_OK;
}

// useNative = 0 forces the composition (for tests that compare the two).
LS_EXPORT int ls_sdpa(LsT q, LsT k, LsT v, LsT mask, double dropout, int causal, double scale, int useNative, LsT* out) {
  LS_TRY
#if LS_TORCH_AT_LEAST(2, 1)
  if (useNative) {
    LsOptional<double> sc = scale > 0 ? LsOptional<double>(scale) : LS_NULLOPT;
    ls_put(out, at::scaled_dot_product_attention(*q, *k, *v, ls_optional(mask), dropout, causal != 0, sc));
    return LS_OK;
  }
#endif
  ls_put(out, sdpa_composed(*q, *k, *v, ls_opt(mask), dropout, causal != 0, scale));
  LS_CATCH
}

LS_EXPORT int ls_has_sdpa_gqa(int* out) {
#if LS_TORCH_AT_LEAST(2, 5)
  *out = 1;
#else
  *out = 0;
#endif
  return LS_OK;
}

// Grouped-query attention without repeating K/V: q (B, H, T, D), k and v (B, Hkv, Tk, D), H a multiple of Hkv
// (libtorch >= 2.5, enable_gqa). No mask: the flash kernel, which takes GQA, takes none.
LS_EXPORT int ls_sdpa_gqa(LsT q, LsT k, LsT v, double dropout, int causal, double scale, LsT* out) {
  LS_TRY
#if LS_TORCH_AT_LEAST(2, 5)
  LsOptional<double> sc = scale > 0 ? LsOptional<double>(scale) : LS_NULLOPT;
  ls_put(out, at::scaled_dot_product_attention(*q, *k, *v, LS_NULLOPT, dropout, causal != 0, sc, true));
#else
  TORCH_CHECK(false, "grouped-query attention in scaled_dot_product_attention needs libtorch 2.5 or newer");
#endif
  LS_CATCH
}

// mode: 0 nearest, 1 bilinear, 2 bicubic; output size (h, w) given, or scale factors when h <= 0.
LS_EXPORT int ls_interpolate(LsT x, int mode, int64_t h, int64_t w, double sh, double sw, int alignCorners,
                             int antialias, LsT* out) {
  LS_TRY
  std::vector<int64_t> size;
  if (h > 0) size = {h, w};
  else size = {(int64_t)std::floor(x->size(2) * sh), (int64_t)std::floor(x->size(3) * sw)};
  LsOptional<double> osh = h > 0 ? LS_NULLOPT : LsOptional<double>(sh);
  LsOptional<double> osw = h > 0 ? LS_NULLOPT : LsOptional<double>(sw);
  at::Tensor r;
  switch (mode) {
    case 0:
      TORCH_CHECK(!antialias, "antialias is only supported for bilinear and bicubic");
      r = at::upsample_nearest2d(*x, size, osh, osw);
      break;
    case 1:
      r = antialias ? at::_upsample_bilinear2d_aa(*x, size, alignCorners != 0, osh, osw)
                    : at::upsample_bilinear2d(*x, size, alignCorners != 0, osh, osw);
      break;
    case 2:
      r = antialias ? at::_upsample_bicubic2d_aa(*x, size, alignCorners != 0, osh, osw)
                    : at::upsample_bicubic2d(*x, size, alignCorners != 0, osh, osw);
      break;
    default:
      TORCH_CHECK(false, "unknown interpolation mode ", mode);
  }
  ls_put(out, r);
  LS_CATCH
}
LS_EXPORT int ls_avg_pool2d(LsT x, int64_t kernel, int64_t stride, LsT* out) {
  LS_TRY ls_put(out, at::avg_pool2d(*x, {kernel, kernel}, {stride, stride})); LS_CATCH
}
LS_EXPORT int ls_pad(LsT x, const int64_t* pads, int n, double value, LsT* out) {
  LS_TRY ls_put(out, at::constant_pad_nd(*x, ls_dims(pads, n), value)); LS_CATCH
}
LS_EXPORT int ls_embedding(LsT w, LsT idx, int64_t paddingIdx, LsT* out) {
  LS_TRY ls_put(out, at::embedding(*w, *idx, paddingIdx, false, false)); LS_CATCH
}
// reduction: 0 none, 1 mean, 2 sum (at::Reduction values).
LS_EXPORT int ls_cross_entropy(LsT logits, LsT target, LsT weight, int reduction, int64_t ignoreIndex,
                               double labelSmoothing, LsT* out) {
  LS_TRY
  ls_put(out, at::cross_entropy_loss(*logits, *target, ls_optional(weight), reduction, ignoreIndex, labelSmoothing));
  LS_CATCH
}
LS_EXPORT int ls_mse_loss(LsT a, LsT b, int reduction, LsT* out) { LS_TRY ls_put(out, at::mse_loss(*a, *b, reduction)); LS_CATCH }
LS_EXPORT int ls_dropout(LsT x, double p, int train, LsT* out) { LS_TRY ls_put(out, at::dropout(*x, p, train != 0)); LS_CATCH }
// Training dropout's output and its keep mask as bool. at::native_dropout is what at::dropout runs on CUDA (the same
// random draws); on the CPU at::dropout draws the same bernoulli over a tensor of x's shape and dtype, which
// native_dropout returns as the mask in x's dtype.
LS_EXPORT int ls_dropout_mask(LsT x, double p, LsT* out, LsT* mask) {
  LS_TRY
  auto r = at::native_dropout(*x, p, true);
  auto m = std::get<1>(r);
  ls_put(out, std::get<0>(r));
  ls_put(mask, m.scalar_type() == at::kBool ? m : m.ne(0));
  LS_CATCH
}
