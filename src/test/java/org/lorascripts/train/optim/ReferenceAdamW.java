package org.lorascripts.train.optim;

/** torch.optim.AdamW's update formula for one parameter, in plain doubles: what the tests compare against. */
final class ReferenceAdamW {
    static final double B1 = 0.9;
    static final double B2 = 0.999;
    static final double EPS = 1e-8;
    static final double WD = 0.1;

    final double[] p;
    final double[] m;
    final double[] v;
    int t;

    ReferenceAdamW(float[] init) {
        p = new double[init.length];
        for (int i = 0; i < init.length; i++) p[i] = init[i];
        m = new double[init.length];
        v = new double[init.length];
    }

    void step(float[] g, double lr) {
        t++;
        double bc1 = 1 - Math.pow(B1, t);
        double bc2 = 1 - Math.pow(B2, t);
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - lr * WD;
            m[i] = B1 * m[i] + (1 - B1) * g[i];
            v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS);
        }
    }

    /** A deterministic vector with entries of order 1. */
    static float[] values(int n, double seed) {
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (float) (Math.sin(seed * 1.7 + i * 0.9) * (1 + 0.3 * i));
        return r;
    }

    /** A distinct gradient for every parameter and step, large and small entries mixed. */
    static float[] grad(int n, int param, int step) {
        float[] r = values(n, 10 * param + step);
        for (int i = 0; i < n; i += 3) r[i] *= 1e-3f;
        return r;
    }
}
