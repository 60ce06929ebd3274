package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.lorascripts.train.optim.OptimizerReferenceValues.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The composed optimizers on CUDA parameters against the same reference values as on the CPU, with a resume in between. */
class OptimizersCudaTest {
    private static final Device GPU = Device.cuda(0);
    private static final long[][] SHAPES = {{2, 3}, {4}, {3}};
    private static final double[] LRS = {0.1, 0.05, 0.02};

    private static void run(Function<List<NamedParam>, Optimizer> make, double[] lrs, double[]... expected) {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                ps.add(new NamedParam("p" + k, Torch.of(OptimizerReferenceTest.init(k), SHAPES[k]).to(GPU).requiresGrad_(true)));
            }
            Optimizer opt = make.apply(ps);
            try {
                for (int t = 1; t <= 3; t++) {
                    if (t == 3) {  // resume onto a fresh optimizer before the last step
                        Map<String, Tensor> saved = opt.stateDict();
                        opt.close();
                        opt = make.apply(ps);
                        opt.loadStateDict(saved);
                    }
                    opt.zeroGrad();
                    for (int k = 0; k < 3; k++) {
                        if (k == 2 && t != 1) continue;
                        Tensor p = ps.get(k).tensor();
                        p.setGrad(Torch.of(OptimizerReferenceTest.grad(k, t), p.shape()).to(GPU));
                    }
                    opt.step(lrs[t - 1]);
                }
            } finally {
                opt.close();
            }
            for (int k = 0; k < 3; k++) {
                float[] got = ps.get(k).tensor().toFloatArray();
                for (int i = 0; i < got.length; i++) assertEquals(expected[k][i], got[i], 1e-5, "p" + k + "[" + i + "]");
            }
        }
    }

    @Test void composedOptimizersMatchTheReferenceOnCuda() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        run(ps -> new Lion(ps, 0.9, 0.99, 0.1), LRS, LION_A, LION_B, LION_C);
        run(ps -> new Sgd(ps, 0.9, 0, 0.01, true), LRS, SGD_NESTEROV_A, SGD_NESTEROV_B, SGD_NESTEROV_C);
        run(ps -> new Adafactor(ps, 1e-30, 1e-3, 1.0, -0.8, null, 0, true, true, false), LRS,
                ADAFACTOR_RELATIVE_A, ADAFACTOR_RELATIVE_B, ADAFACTOR_RELATIVE_C);
        run(ps -> new Adafactor(ps, 1e-30, 1e-3, 0.5, -0.8, 0.9, 0.01, false, false, false), LRS,
                ADAFACTOR_FIXED_A, ADAFACTOR_FIXED_B, ADAFACTOR_FIXED_C);
        run(ps -> new Prodigy(ps, 0.9, 0.999, Double.NaN, 1e-8, 0.01, true, true, true, 1e-3, 1000, 1.5), new double[] {1.0, 0.5, 1.0},
                PRODIGY_TUNED_A, PRODIGY_TUNED_B, PRODIGY_TUNED_C);
    }
}
