package org.lorascripts.nn;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

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
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) return Scope.scoped(() -> Functional.linear(x, weight.get(), bias));
        Tensor y;
        try (var ng = Autograd.noGrad()) {
            y = Scope.scoped(() -> Functional.linear(x, weight.get(), bias));
        }
        DType inputType = x.dtype();
        return CustomFunction.apply((grads, saved) -> {
            Tensor gx = grads.get(0).to(dtype).matmul(weight.get());
            return Arrays.asList(gx.dtype() == inputType ? gx : gx.to(inputType));
        }, List.of(x), List.of(y), List.of()).get(0);
    }

    /** conv2d(x, W, b) with square stride and padding. */
    static Tensor conv2d(Tensor x, Supplier<Tensor> weight, Tensor bias, int stride, int padding, int groups, DType dtype) {
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) {
            return Scope.scoped(() -> Functional.conv2d(x, weight.get(), bias, stride, padding, groups));
        }
        Tensor y;
        try (var ng = Autograd.noGrad()) {
            y = Scope.scoped(() -> Functional.conv2d(x, weight.get(), bias, stride, padding, groups));
        }
        DType inputType = x.dtype();
        long[] inputShape = x.shape();
        return CustomFunction.apply((grads, saved) -> {
            Tensor gx = Functional.conv2dInputGradient(grads.get(0).to(dtype), weight.get(), inputShape, stride, padding, groups);
            return Arrays.asList(gx.dtype() == inputType ? gx : gx.to(inputType));
        }, List.of(x), List.of(y), List.of()).get(0);
    }
}
