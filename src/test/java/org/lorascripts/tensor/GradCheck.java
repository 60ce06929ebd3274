package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Compares autograd gradients with central finite differences, in f64. */
final class GradCheck {
    private GradCheck() {}

    /**
     * @param values the inputs' values (f64), one array per input
     * @param shapes their shapes
     * @param f      a scalar function of the inputs
     */
    static double check(double[][] values, long[][] shapes, Function<List<Tensor>, Tensor> f, double tol) {
        double worst = 0;
        try (Scope s = Scope.open()) {
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < values.length; i++) inputs.add(Torch.of(values[i], shapes[i]).requiresGrad_(true));
            f.apply(inputs).backward();
            for (int i = 0; i < values.length; i++) {
                Tensor g = inputs.get(i).grad();
                assertNotNull(g, "input " + i + " got no gradient");
                double[] analytic = g.toDoubleArray();
                for (int j = 0; j < values[i].length; j++) {
                    double numeric = numeric(values, shapes, f, i, j, 1e-6);
                    double diff = Math.abs(numeric - analytic[j]);
                    worst = Math.max(worst, diff);
                    assertEquals(numeric, analytic[j], tol * Math.max(1, Math.abs(numeric)), "d/d input " + i + "[" + j + "]");
                }
            }
        }
        return worst;
    }

    private static double numeric(double[][] values, long[][] shapes, Function<List<Tensor>, Tensor> f, int i, int j, double h) {
        double orig = values[i][j];
        try {
            values[i][j] = orig + h;
            double plus = eval(values, shapes, f);
            values[i][j] = orig - h;
            double minus = eval(values, shapes, f);
            return (plus - minus) / (2 * h);
        } finally {
            values[i][j] = orig;
        }
    }

    private static double eval(double[][] values, long[][] shapes, Function<List<Tensor>, Tensor> f) {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < values.length; i++) inputs.add(Torch.of(values[i], shapes[i]));
            return f.apply(inputs).item();
        }
    }

    static double[] randomValues(java.util.Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian();
        return v;
    }
}
