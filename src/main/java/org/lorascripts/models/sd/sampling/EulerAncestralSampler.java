package org.lorascripts.models.sd.sampling;

import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Euler ancestral ("Euler a"), as diffusers' EulerAncestralDiscreteScheduler with "linspace" spacing
 * (timesteps linspace(999, 0, steps), sigmas interpolated in the schedule's sigma table, a final 0):
 * x0 = x - sigma * eps (model input scaled by 1/sqrt(sigma^2 + 1)); sigma_up / sigma_down split the
 * step to sigma_next into a deterministic Euler move and fresh noise, drawn from libtorch's generator.
 */
public final class EulerAncestralSampler {
    private final DdpmSchedule schedule;
    private final boolean vPrediction;

    public EulerAncestralSampler(DdpmSchedule schedule, boolean vPrediction) {
        this.schedule = schedule;
        this.vPrediction = vPrediction;
    }

    /** Timesteps as doubles (linspace from 999 to 0); the denoiser gets them rounded. */
    double[] timesteps(int steps) {
        double[] ts = new double[steps];
        for (int i = 0; i < steps; i++) ts[i] = (DdpmSchedule.TRAIN_STEPS - 1) * (1 - (steps == 1 ? 0 : (double) i / (steps - 1)));
        return ts;
    }

    /** sigma at a fractional timestep, by linear interpolation in the sigma table (as np.interp). */
    double sigmaAt(double t) {
        int lo = (int) Math.floor(t), hi = Math.min(lo + 1, DdpmSchedule.TRAIN_STEPS - 1);
        double w = t - lo;
        return schedule.sigma(lo) * (1 - w) + schedule.sigma(hi) * w;
    }

    /** Starts from unit-variance noise (scaled here to the first sigma) and returns the clean latents. */
    public Tensor sample(Denoiser model, Tensor noise, int steps) {
        double[] ts = timesteps(steps);
        double[] sigmas = new double[steps + 1];
        for (int i = 0; i < steps; i++) sigmas[i] = sigmaAt(ts[i]);
        sigmas[steps] = 0;
        Tensor x = noise.mul(sigmas[0]);  // linspace spacing: init_noise_sigma = sigma_max
        for (int i = 0; i < steps; i++) {
            double s = sigmas[i], next = sigmas[i + 1];
            double scale = 1 / Math.sqrt(s * s + 1);
            Tensor out = model.predict(x.mul(scale), (int) Math.round(ts[i]));
            Tensor x0 = vPrediction ? out.mul(-s * scale).add(x.mul(scale * scale)) : x.sub(out.mul(s));
            double up = next == 0 ? 0 : Math.sqrt(next * next * (s * s - next * next) / (s * s));
            double down = Math.sqrt(next * next - up * up);
            Tensor d = x.sub(x0).div(s);
            x = x.add(d.mul(down - s));
            if (up > 0) x = x.add(Torch.randn(x.shape(), x.dtype(), x.device()).mul(up));
        }
        return x;
    }
}
