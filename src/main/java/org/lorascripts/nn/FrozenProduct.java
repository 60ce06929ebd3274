package org.lorascripts.nn;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Products with a frozen weight that is stored compactly (4-bit NF4, fp8) and made dense only for one product. With
 * autograd on and an input that wants a gradient, the product is an operation of its own ({@link CustomFunction}):
 * it saves neither the dense weight nor the input, and its backward makes the dense weight again for the input's
 * gradient alone ({@code grad · W} for a linear layer, a transposed convolution for a convolution), one GEMM or
 * convolution, no recomputed forward. The gradient is computed in the weight's dtype {@code dtype} (the product's
 * under autocast) and returned in the input's.
 */
final class FrozenProduct {
    private FrozenProduct() {}

    /** x W^T + b. */
    static Tensor linear(Tensor x, Supplier<Tensor> weight, Tensor bias, DType dtype) {
        return product(x, in -> Functional.linear(in, weight.get(), bias), g -> g.to(dtype).matmul(weight.get()));
    }

    /**
     * x W^T + b for its gradient alone ({@link LinearLayer#gradientPath}): the value is a broadcast zero of the
     * product's shape and dtype (autocast's, else {@code dtype}); the input's gradient is {@code grad · W} in that
     * dtype, as the product's own backward computes it. No GEMM runs in forward.
     */
    static Tensor linearGradientOnly(Tensor x, long outFeatures, Supplier<Tensor> weight, DType dtype) {
        long[] shape = x.shape();
        shape[shape.length - 1] = outFeatures;
        return gradientOnly(x, shape, dtype, (g, w) -> g.matmul(w), weight);
    }

    /** conv2d(x, W, b) for its gradient alone (as {@link #linearGradientOnly}): the input's gradient is a transposed convolution. */
    static Tensor conv2dGradientOnly(Tensor x, long[] weightShape, Supplier<Tensor> weight, int stride, int padding, int groups, DType dtype) {
        long[] in = x.shape();
        long[] shape = {in[0], weightShape[0], (in[2] + 2L * padding - weightShape[2]) / stride + 1, (in[3] + 2L * padding - weightShape[3]) / stride + 1};
        return gradientOnly(x, shape, dtype, (g, w) -> Functional.conv2dInputGradient(g, w, in, stride, padding, groups), weight);
    }

    private static Tensor gradientOnly(Tensor x, long[] shape, DType dtype, java.util.function.BinaryOperator<Tensor> inputGradient,
                                       Supplier<Tensor> weight) {
        DType autocast = x.dtype().isFloatingPoint() ? Autocast.dtype(x.device().type()) : null;
        DType compute = autocast != null ? autocast : dtype;
        Tensor y = Torch.zeros(new long[0], compute, x.device()).expand(shape);
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) return y;
        DType inputType = x.dtype();
        return CustomFunction.apply((grads, saved) -> {
            Tensor w = weight.get();
            Tensor gx = inputGradient.apply(grads.get(0).to(compute), w.dtype() == compute ? w : w.to(compute));
            return Arrays.asList(gx.dtype() == inputType ? gx : gx.to(inputType));
        }, List.of(x), List.of(y), List.of()).get(0);
    }

    /** conv2d(x, W, b) with square stride and padding. */
    static Tensor conv2d(Tensor x, Supplier<Tensor> weight, Tensor bias, int stride, int padding, int groups, DType dtype) {
        long[] inputShape = x.shape();
        return product(x, in -> Functional.conv2d(in, weight.get(), bias, stride, padding, groups),
                g -> Functional.conv2dInputGradient(g.to(dtype), weight.get(), inputShape, stride, padding, groups));
    }

    /** forward(x), its temporaries (the dense weight) freed at once; backward: inputGradient(grad) in x's dtype. */
    private static Tensor product(Tensor x, UnaryOperator<Tensor> forward, UnaryOperator<Tensor> inputGradient) {
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) return Scope.scoped(() -> forward.apply(x));
        Tensor y;
        try (var ng = Autograd.noGrad()) {
            y = Scope.scoped(() -> forward.apply(x));
        }
        DType inputType = x.dtype();
        return CustomFunction.apply((grads, saved) -> {
            Tensor gx = inputGradient.apply(grads.get(0));
            return Arrays.asList(gx.dtype() == inputType ? gx : gx.to(inputType));
        }, List.of(x), List.of(y), List.of()).get(0);
    }
}
