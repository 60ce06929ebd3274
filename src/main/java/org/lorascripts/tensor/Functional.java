package org.lorascripts.tensor;

import static org.lorascripts.tensor.Tensor.handleOrZero;
import static org.lorascripts.tensor.Tensor.wrap;

import org.lorascripts.ffi.MathApi;
import org.lorascripts.ffi.NnApi;

/** Neural-network functions, in the spirit of {@code torch.nn.functional}. Optional tensors may be null. */
public final class Functional {
    private Functional() {}

    public enum Reduction {
        NONE(0), MEAN(1), SUM(2);
        final int code;
        Reduction(int code) { this.code = code; }
    }

    public enum Interpolation {
        NEAREST(0), BILINEAR(1), BICUBIC(2);
        final int code;
        Interpolation(int code) { this.code = code; }
    }

    /** x @ w^T + b; x (..., in), w (out, in), b (out) or null. */
    public static Tensor linear(Tensor x, Tensor w, Tensor b) { return wrap(MathApi.linear(x.handle(), w.handle(), handleOrZero(b))); }

    /** beta * self + alpha * (b1 @ b2), batched. */
    public static Tensor baddbmm(Tensor self, Tensor b1, Tensor b2, double beta, double alpha) {
        return wrap(MathApi.baddbmm(self.handle(), b1.handle(), b2.handle(), beta, alpha));
    }

    public static Tensor addmm(Tensor self, Tensor m1, Tensor m2, double beta, double alpha) {
        return wrap(MathApi.addmm(self.handle(), m1.handle(), m2.handle(), beta, alpha));
    }

    /** x (B, Cin, H, W), w (Cout, Cin/groups, kH, kW). */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int padding, int groups) {
        return conv2d(x, w, b, new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, groups);
    }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor b, long[] stride, long[] padding, long[] dilation, int groups) {
        return wrap(NnApi.conv2d(x.handle(), w.handle(), handleOrZero(b), stride, padding, dilation, groups));
    }

    /**
     * The gradient of {@code conv2d(x, w, null, stride, padding, 1, groups)} with respect to x of shape {@code inputShape}
     * (B, Cin, H, W), from the output's gradient {@code g} (B, Cout, H', W'): a transposed convolution with the same
     * weight, whose output padding restores the rows and columns the forward's stride left over.
     */
    public static Tensor conv2dInputGradient(Tensor g, Tensor w, long[] inputShape, int stride, int padding, int groups) {
        long[] ws = w.shape();
        long[] outPad = new long[2];
        for (int d = 0; d < 2; d++) {
            long produced = (g.size(2 + d) - 1) * stride - 2L * padding + ws[2 + d];
            outPad[d] = inputShape[2 + d] - produced;
            if (outPad[d] < 0 || outPad[d] >= Math.max(1, stride)) {
                throw new IllegalArgumentException("a gradient of shape " + java.util.Arrays.toString(g.shape()) + " does not come from an input of shape "
                        + java.util.Arrays.toString(inputShape) + " with kernel " + ws[2 + d] + ", stride " + stride + ", padding " + padding);
            }
        }
        return wrap(NnApi.convTranspose2d(g.handle(), w.handle(), new long[] {stride, stride}, new long[] {padding, padding}, outPad,
                new long[] {1, 1}, groups));
    }

    public static Tensor groupNorm(Tensor x, int groups, Tensor w, Tensor b, double eps) {
        return wrap(NnApi.groupNorm(x.handle(), groups, handleOrZero(w), handleOrZero(b), eps));
    }

    public static Tensor layerNorm(Tensor x, long[] normalizedShape, Tensor w, Tensor b, double eps) {
        return wrap(NnApi.layerNorm(x.handle(), normalizedShape, handleOrZero(w), handleOrZero(b), eps));
    }

    /** RMS norm over the last dim, computed in fp32 and cast back (LLaMA's definition). */
    public static Tensor rmsNorm(Tensor x, Tensor w, double eps) { return wrap(NnApi.rmsNorm(x.handle(), handleOrZero(w), eps)); }

    public static Tensor softmax(Tensor x, long dim) { return x.softmax(dim); }
    /** Softmax computed in the given dtype (e.g. f32 for fp16 inputs). */
    public static Tensor softmax(Tensor x, long dim, DType dt) { return wrap(NnApi.softmax(x.handle(), dim, dt.code)); }
    public static Tensor logSoftmax(Tensor x, long dim) { return x.logSoftmax(dim); }
    public static Tensor gelu(Tensor x, boolean tanhApproximation) { return tanhApproximation ? x.geluTanh() : x.gelu(); }
    public static Tensor silu(Tensor x) { return x.silu(); }

    /** Whether this libtorch has a fused scaled-dot-product attention (flash / memory-efficient kernels). */
    public static boolean hasFusedAttention() { return NnApi.hasNativeSdpa(); }

    /**
     * softmax(q k^T * scale + mask) v. q (B, H, Tq, D), k and v (B, H, Tk, D); mask null, bool
     * (true = attend) or additive float, broadcastable to (B, H, Tq, Tk); scale <= 0 means 1/sqrt(D).
     * Uses libtorch's fused kernel where present (2.1+), else the same composition.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask, double dropout, boolean causal, double scale) {
        return wrap(NnApi.sdpa(q.handle(), k.handle(), v.handle(), handleOrZero(mask), dropout, causal, scale, true));
    }

    /** Whether {@link #groupedQueryAttention} runs here (libtorch 2.5 or newer) and is not turned off ({@code LORA_GQA_ATTENTION=0}). */
    public static boolean hasGroupedQueryAttention() {
        Boolean h = gqa;
        if (h == null) gqa = h = !EnvSwitch.off("LORA_GQA_ATTENTION") && NnApi.hasSdpaGqa();
        return h;
    }

    private static volatile Boolean gqa;

    /**
     * Scaled dot-product attention of q (B, H, T, D) over k and v (B, Hkv, Tk, D) with H a multiple of Hkv, each K/V
     * head serving its group of H/Hkv query heads, without repeating K and V (libtorch's enable_gqa: the flash
     * kernel reads each K/V head once per group, and backward sums the group's gradients). No mask; needs
     * {@link #hasGroupedQueryAttention}.
     */
    public static Tensor groupedQueryAttention(Tensor q, Tensor k, Tensor v, double dropout, boolean causal, double scale) {
        return wrap(NnApi.sdpaGqa(q.handle(), k.handle(), v.handle(), dropout, causal, scale));
    }

    /** The explicit composition, for comparison with the fused kernel. */
    public static Tensor attentionComposed(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        return wrap(NnApi.sdpa(q.handle(), k.handle(), v.handle(), handleOrZero(mask), 0, causal, scale, false));
    }

    /** Resize (B, C, H, W) to (B, C, h, w). */
    public static Tensor interpolate(Tensor x, long h, long w, Interpolation mode, boolean alignCorners, boolean antialias) {
        return wrap(NnApi.interpolate(x.handle(), mode.code, h, w, 0, 0, alignCorners, antialias));
    }

    /** Resize by scale factors. */
    public static Tensor interpolate(Tensor x, double scaleH, double scaleW, Interpolation mode) {
        return wrap(NnApi.interpolate(x.handle(), mode.code, 0, 0, scaleH, scaleW, false, false));
    }

    public static Tensor avgPool2d(Tensor x, int kernel, int stride) { return wrap(NnApi.avgPool2d(x.handle(), kernel, stride)); }

    /** Constant padding; pads lists (left, right) pairs from the last dim backwards, as F.pad. */
    public static Tensor pad(Tensor x, long[] pads, double value) { return wrap(NnApi.pad(x.handle(), pads, value)); }

    /** Rows of w (V, D) for integer indices; paddingIdx < 0 for none. */
    public static Tensor embedding(Tensor w, Tensor indices, long paddingIdx) { return wrap(NnApi.embedding(w.handle(), indices.handle(), paddingIdx)); }

    /** logits (N, C) or (N, C, d...), target int64 (N) or (N, d...). */
    public static Tensor crossEntropy(Tensor logits, Tensor target, Reduction reduction, long ignoreIndex, double labelSmoothing) {
        return wrap(NnApi.crossEntropy(logits.handle(), target.handle(), 0, reduction.code, ignoreIndex, labelSmoothing));
    }

    public static Tensor crossEntropy(Tensor logits, Tensor target) { return crossEntropy(logits, target, Reduction.MEAN, -100, 0); }

    public static Tensor mseLoss(Tensor a, Tensor b, Reduction reduction) { return wrap(NnApi.mseLoss(a.handle(), b.handle(), reduction.code)); }

    public static Tensor dropout(Tensor x, double p, boolean training) { return wrap(NnApi.dropout(x.handle(), p, training)); }

    /**
     * Training dropout as {@link #dropout} draws it (the same random numbers on CPU and CUDA), with its keep mask:
     * {output = x * mask / (1 - p), mask (bool)}. Recorded by autograd like any op; callers that save the mask
     * instead of the output run it without grad.
     */
    public static Tensor[] dropoutWithMask(Tensor x, double p) {
        long[] h = NnApi.dropoutWithMask(x.handle(), p);
        return new Tensor[] {wrap(h[0]), wrap(h[1])};
    }
}
