package org.lorascripts.tensor;

import static org.lorascripts.tensor.GradCheck.check;
import static org.lorascripts.tensor.GradCheck.randomValues;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference gradient checks (f64) of the ops the models are built from. Each loss weights
 * the op's output with fixed random coefficients so that every output element matters.
 */
class GradientCheckTest {
    private static final double TOL = 1e-6;
    private final Random rnd = new Random(42);

    /** sum(out * w) with w fixed, so the check covers the full Jacobian-vector product. */
    private Tensor weighted(Tensor out) {
        Random r = new Random(7);
        double[] w = new double[(int) out.numel()];
        for (int i = 0; i < w.length; i++) w[i] = r.nextGaussian();
        return out.mul(Torch.of(w, out.shape())).sum();
    }

    @Test
    void linear() {
        check(new double[][] {randomValues(rnd, 2 * 3), randomValues(rnd, 4 * 3), randomValues(rnd, 4)},
                new long[][] {{2, 3}, {4, 3}, {4}}, in -> weighted(Functional.linear(in.get(0), in.get(1), in.get(2))), TOL);
    }

    @Test
    void conv2dWithStridePaddingGroups() {
        check(new double[][] {randomValues(rnd, 1 * 4 * 5 * 5), randomValues(rnd, 4 * 2 * 3 * 3), randomValues(rnd, 4)},
                new long[][] {{1, 4, 5, 5}, {4, 2, 3, 3}, {4}},
                in -> weighted(Functional.conv2d(in.get(0), in.get(1), in.get(2), 2, 1, 2)), TOL);
    }

    @Test
    void groupNorm() {
        check(new double[][] {randomValues(rnd, 2 * 4 * 3 * 3), randomValues(rnd, 4), randomValues(rnd, 4)},
                new long[][] {{2, 4, 3, 3}, {4}, {4}},
                in -> weighted(Functional.groupNorm(in.get(0), 2, in.get(1), in.get(2), 1e-5)), TOL);
    }

    @Test
    void layerNorm() {
        check(new double[][] {randomValues(rnd, 3 * 5), randomValues(rnd, 5), randomValues(rnd, 5)},
                new long[][] {{3, 5}, {5}, {5}},
                in -> weighted(Functional.layerNorm(in.get(0), new long[] {5}, in.get(1), in.get(2), 1e-5)), TOL);
    }

    @Test
    void rmsNorm() {
        check(new double[][] {randomValues(rnd, 3 * 6), randomValues(rnd, 6)}, new long[][] {{3, 6}, {6}},
                in -> weighted(Functional.rmsNorm(in.get(0), in.get(1), 1e-6)), TOL);
    }

    @Test
    void attentionWithMaskAndCausal() {
        long[] qs = {1, 2, 3, 4};
        long[] ks = {1, 2, 4, 4};
        check(new double[][] {randomValues(rnd, 24), randomValues(rnd, 32), randomValues(rnd, 32)}, new long[][] {qs, ks, ks}, in -> {
            Tensor mask = Torch.of(new boolean[] {true, true, false, true, true, false, true, true, true, true, true, false}, 1, 1, 3, 4);
            return weighted(Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), mask, 0, false, 0));
        }, TOL);
        check(new double[][] {randomValues(rnd, 32), randomValues(rnd, 32), randomValues(rnd, 32)}, new long[][] {ks, ks, ks},
                in -> weighted(Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), null, 0, true, 0.3)), TOL);
    }

    @Test
    void activations() {
        long[][] s = {{7}};
        check(new double[][] {randomValues(rnd, 7)}, s, in -> weighted(in.get(0).gelu()), TOL);
        check(new double[][] {randomValues(rnd, 7)}, s, in -> weighted(in.get(0).geluTanh()), TOL);
        check(new double[][] {randomValues(rnd, 7)}, s, in -> weighted(in.get(0).silu()), TOL);
        check(new double[][] {randomValues(rnd, 7)}, s, in -> weighted(in.get(0).softmax(0)), TOL);
    }

    @Test
    void embeddingWeights() {
        long[] idx = {2, 0, 2, 3};
        check(new double[][] {randomValues(rnd, 5 * 3)}, new long[][] {{5, 3}},
                in -> weighted(Functional.embedding(in.get(0), Torch.of(idx), -1)), TOL);
    }

    @Test
    void crossEntropyWithIgnoreIndexAndSmoothing() {
        long[] target = {1, -100, 3, 0};
        check(new double[][] {randomValues(rnd, 4 * 5)}, new long[][] {{4, 5}},
                in -> Functional.crossEntropy(in.get(0), Torch.of(target), Functional.Reduction.MEAN, -100, 0), TOL);
        check(new double[][] {randomValues(rnd, 4 * 5)}, new long[][] {{4, 5}},
                in -> Functional.crossEntropy(in.get(0), Torch.of(target), Functional.Reduction.SUM, -100, 0.1), TOL);
    }

    @Test
    void interpolateBilinear() {
        check(new double[][] {randomValues(rnd, 1 * 1 * 3 * 3)}, new long[][] {{1, 1, 3, 3}},
                in -> weighted(Functional.interpolate(in.get(0), 5, 4, Functional.Interpolation.BILINEAR, false, false)), TOL);
    }
}
