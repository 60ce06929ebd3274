package org.lorascripts.models.sd.sampling;

import org.lorascripts.tensor.Tensor;

/**
 * Deterministic DDIM (eta = 0) with diffusers' "leading" spacing and steps_offset 1, as SD 1.x/2.x
 * scheduler configs set: timesteps (0, k, 2k, ...) + 1 reversed, k = 1000 / steps; the last step
 * goes to alpha-bar_0 (set_alpha_to_one = false). Reference: diffusers' DDIMScheduler.step.
 */
public final class DdimSampler {
    private final DdpmSchedule schedule;
    private final boolean vPrediction;

    public DdimSampler(DdpmSchedule schedule, boolean vPrediction) {
        this.schedule = schedule;
        this.vPrediction = vPrediction;
    }

    public int[] timesteps(int steps) {
        int k = DdpmSchedule.TRAIN_STEPS / steps;
        int[] ts = new int[steps];
        for (int i = 0; i < steps; i++) ts[i] = (steps - 1 - i) * k + 1;
        return ts;
    }

    /** Runs the reverse process from pure noise x_T; returns the predicted clean latents. */
    public Tensor sample(Denoiser model, Tensor noise, int steps) {
        int k = DdpmSchedule.TRAIN_STEPS / steps;
        Tensor x = noise;
        for (int t : timesteps(steps)) {
            double ab = schedule.alphaBar(t);
            int prev = t - k;
            double abPrev = prev >= 0 ? schedule.alphaBar(prev) : schedule.alphaBar(0);
            Tensor out = model.predict(x, t);
            Tensor eps, x0;
            if (vPrediction) {
                x0 = x.mul(Math.sqrt(ab)).sub(out.mul(Math.sqrt(1 - ab)));
                eps = out.mul(Math.sqrt(ab)).add(x.mul(Math.sqrt(1 - ab)));
            } else {
                eps = out;
                x0 = x.sub(eps.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab));
            }
            x = x0.mul(Math.sqrt(abPrev)).add(eps.mul(Math.sqrt(1 - abPrev)));
        }
        return x;
    }
}
