package org.lorascripts.models.sd.sampling;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Stable Diffusion's DDPM noise schedule: 1000 steps of "scaled linear" betas from 0.00085 to 0.012
 * (beta_t = linspace(sqrt(0.00085), sqrt(0.012), 1000)^2), alpha-bar_t = prod(1 - beta_s, s <= t).
 * Reference: diffusers' DDPMScheduler (beta_schedule="scaled_linear") and the SD v1 config.
 */
public final class DdpmSchedule {
    public static final int TRAIN_STEPS = 1000;
    private final double[] alphaBar = new double[TRAIN_STEPS];

    public DdpmSchedule() { this(0.00085, 0.012); }

    public DdpmSchedule(double betaStart, double betaEnd) {
        double a = Math.sqrt(betaStart), b = Math.sqrt(betaEnd), prod = 1;
        for (int t = 0; t < TRAIN_STEPS; t++) {
            // float32 linspace as diffusers computes it, then squared
            double s = (float) (a + (b - a) * t / (TRAIN_STEPS - 1));
            double beta = (float) (s * s);
            prod *= 1 - beta;
            alphaBar[t] = prod;
        }
    }

    public double alphaBar(int t) { return alphaBar[t]; }

    /** Signal-to-noise ratio alpha-bar / (1 - alpha-bar). */
    public double snr(int t) { return alphaBar[t] / (1 - alphaBar[t]); }

    /** k-diffusion sigma: sqrt((1 - alpha-bar) / alpha-bar). */
    public double sigma(int t) { return Math.sqrt((1 - alphaBar[t]) / alphaBar[t]); }

    /**
     * alpha-bar at each timestep of a (B) int64 tensor, as (B, 1, 1, 1) f32 on the device: a lookup in
     * a table kept on that device, so nothing is read back to the host (CUDA graphs capture it). The
     * table is made on a device's first call.
     */
    public Tensor alphaBarAt(Tensor timesteps, Device device) {
        return lookup(alphaBarTables, timesteps, device, t -> (float) alphaBar[t]);
    }

    private final Map<Device, Tensor> alphaBarTables = new ConcurrentHashMap<>();

    /** values(t) for every t of a (B) int64 tensor, as (B, 1, 1, 1) f32 on {@code device}, from a per-device table. */
    public static Tensor lookup(Map<Device, Tensor> tables, Tensor timesteps, Device device, java.util.function.IntFunction<Float> values) {
        Tensor table = tables.computeIfAbsent(device, d -> {
            float[] v = new float[TRAIN_STEPS];
            for (int t = 0; t < TRAIN_STEPS; t++) v[t] = values.apply(t);
            try (Tensor cpu = Torch.of(v, TRAIN_STEPS)) {
                return cpu.to(DType.F32, d).keep();
            }
        });
        long n = timesteps.numel();
        Tensor idx = timesteps.device().equals(device) ? timesteps : timesteps.to(device);
        return table.indexSelect(0, idx.reshape(n)).reshape(n, 1, 1, 1);
    }

    /** x_t = sqrt(ab) x0 + sqrt(1 - ab) noise, per batch element. */
    public Tensor addNoise(Tensor x0, Tensor noise, Tensor timesteps) {
        Tensor ab = alphaBarAt(timesteps, x0.device());
        return x0.mul(ab.sqrt()).add(noise.mul(ab.rsub(1).sqrt()));
    }

    /** The v-prediction target: sqrt(ab) noise - sqrt(1 - ab) x0. */
    public Tensor velocity(Tensor x0, Tensor noise, Tensor timesteps) {
        Tensor ab = alphaBarAt(timesteps, x0.device());
        return noise.mul(ab.sqrt()).sub(x0.mul(ab.rsub(1).sqrt()));
    }
}
