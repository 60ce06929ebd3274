package org.lorascripts.models.sd.sampling;

import org.lorascripts.tensor.Tensor;

/**
 * DPM++ 2M ("DPM++ 2M" and "DPM++ 2M Karras" in the WebUI), deterministic: diffusers'
 * {@code DPMSolverMultistepScheduler} with {@code algorithm_type="dpmsolver++"}, {@code solver_order=2},
 * {@code lower_order_final=True} and {@code final_sigmas_type="zero"}, computed in sigma space as
 * k-diffusion's {@code sample_dpmpp_2m} (x = x0 + sigma·eps, t = -log sigma, h = t_next - t):
 * <pre>
 *   denoised   = D(x, sigma_i)
 *   denoised_d = (1 + 1/(2r))·denoised - 1/(2r)·old_denoised,   r = h_last / h   (first step: denoised)
 *   x          = (sigma_next / sigma_i)·x - expm1(-h)·denoised_d
 * </pre>
 * The two forms are the same update: diffusers' VP sample is x / sqrt(sigma^2 + 1), its lambda is -log sigma.
 * The last step goes to sigma 0 and is first order (it returns the denoised estimate): diffusers takes a
 * first-order last step whenever {@code final_sigmas_type} is "zero", whatever the step count (the
 * "fewer than 15 steps" rule of {@code lower_order_final} only matters with a nonzero final sigma, and
 * its second-to-last rule only lowers third order).
 *
 * <p>Timesteps follow diffusers' {@code timestep_spacing} (SD 1.x and SDXL configs: "leading" with
 * {@code steps_offset} 1; note this scheduler's "leading" divides by steps + 1, unlike DDIM's); sigmas
 * are the schedule's at those timesteps. With Karras sigmas the spacing is ignored: n sigmas from
 * sigma_max to sigma_min evenly in sigma^(1/7), the UNet told the timestep whose log-sigma they
 * interpolate, rounded.
 *
 * @see <a href="https://github.com/huggingface/diffusers/blob/main/src/diffusers/schedulers/scheduling_dpmsolver_multistep.py">diffusers' DPMSolverMultistepScheduler</a>
 * @see <a href="https://github.com/crowsonkb/k-diffusion/blob/master/k_diffusion/sampling.py">k-diffusion's sample_dpmpp_2m</a>
 * @see <a href="https://arxiv.org/abs/2211.01095">DPM-Solver++ (Lu et al. 2022)</a>
 * @see <a href="https://arxiv.org/abs/2206.00364">Karras et al. 2022, eq. 5 (the sigma ramp)</a>
 */
public final class DpmSolverMultistepSampler {
    /** diffusers' {@code timestep_spacing}. */
    public enum Spacing { LEADING, LINSPACE, TRAILING }

    /** Karras et al.'s rho, as diffusers and k-diffusion fix it. */
    static final double RHO = 7.0;

    /** The model in k-diffusion's form: the clean estimate of x (= x0 + sigma·eps) at sigma, the UNet told {@code timestep}. */
    @FunctionalInterface
    interface DataPrediction {
        Tensor denoise(Tensor x, double sigma, int timestep);
    }

    private final DdpmSchedule schedule;
    private final boolean vPrediction;
    private final boolean karras;
    private final Spacing spacing;
    private final int stepsOffset;

    /** SD 1.x / SDXL scheduler settings: leading spacing, steps_offset 1. */
    public DpmSolverMultistepSampler(DdpmSchedule schedule, boolean vPrediction, boolean karras) {
        this(schedule, vPrediction, karras, Spacing.LEADING, 1);
    }

    public DpmSolverMultistepSampler(DdpmSchedule schedule, boolean vPrediction, boolean karras, Spacing spacing, int stepsOffset) {
        this.schedule = schedule;
        this.vPrediction = vPrediction;
        this.karras = karras;
        this.spacing = spacing;
        this.stepsOffset = stepsOffset;
    }

    /** The timestep the UNet is told at each of {@code steps} steps, from noisiest. */
    public int[] timesteps(int steps) {
        if (steps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        int n = DdpmSchedule.TRAIN_STEPS;
        int[] ts = new int[steps];
        if (karras) {
            double[] sigmas = sigmas(steps);
            for (int i = 0; i < steps; i++) ts[i] = (int) Math.round(timestepOf(sigmas[i]));
            return ts;
        }
        switch (spacing) {
            case LEADING -> {
                // np.arange(0, steps + 1) * (n // (steps + 1)), reversed, the trailing 0 dropped, + offset
                int ratio = n / (steps + 1);
                for (int i = 0; i < steps; i++) ts[i] = (steps - i) * ratio + stepsOffset;
            }
            case LINSPACE -> {
                // np.linspace(0, n - 1, steps + 1).round(), reversed, the trailing 0 dropped; numpy computes
                // j·step with step = (n - 1) / steps, which decides the halves (30 steps: 15·33.3 = 499.4999...)
                double step = (double) (n - 1) / steps;
                for (int i = 0; i < steps; i++) ts[i] = (int) Math.rint((steps - i) * step);
            }
            case TRAILING -> {
                // np.arange(n, 0, -n / steps).round() - 1 (np.round rounds half to even, as rint)
                double ratio = (double) n / steps;
                for (int i = 0; i < steps; i++) ts[i] = (int) Math.rint(n - i * ratio) - 1;
            }
        }
        for (int t : ts) {
            if (t < 0 || t >= n) throw new IllegalArgumentException(steps + " steps with " + spacing + " spacing give timestep " + t);
        }
        return ts;
    }

    /** steps + 1 sigmas, from noisiest, the last 0 (final_sigmas_type "zero"). */
    public double[] sigmas(int steps) {
        if (steps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        double[] s = new double[steps + 1];
        if (karras) {
            double maxInv = Math.pow(schedule.sigma(DdpmSchedule.TRAIN_STEPS - 1), 1 / RHO);
            double minInv = Math.pow(schedule.sigma(0), 1 / RHO);
            for (int i = 0; i < steps; i++) {
                double ramp = steps == 1 ? 0 : (double) i / (steps - 1);   // np.linspace(0, 1, steps)
                s[i] = Math.pow(maxInv + ramp * (minInv - maxInv), RHO);
            }
        } else {
            int[] ts = timesteps(steps);
            for (int i = 0; i < steps; i++) s[i] = schedule.sigma(ts[i]);
        }
        s[steps] = 0;
        return s;
    }

    /**
     * The fractional timestep of a sigma, interpolating linearly in log sigma between the two table
     * entries around it (diffusers' {@code _sigma_to_t}), clamped to [0, 999].
     */
    double timestepOf(double sigma) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int last = DdpmSchedule.TRAIN_STEPS - 1;
        // sigmas grow with t: low = the last index whose log-sigma is <= log_sigma, at most 998
        int low = 0;
        for (int t = 0; t <= last; t++) if (Math.log(schedule.sigma(t)) <= logSigma) low = t;
        low = Math.min(low, last - 1);
        double lo = Math.log(schedule.sigma(low)), hi = Math.log(schedule.sigma(low + 1));
        double w = Math.clamp((lo - logSigma) / (lo - hi), 0.0, 1.0);
        return (1 - w) * low + w * (low + 1);
    }

    /** Runs the solver from unit-variance noise; returns the clean latents. */
    public Tensor sample(Denoiser model, Tensor noise, int steps) {
        double[] sigmas = sigmas(steps);
        int[] ts = timesteps(steps);
        // diffusers starts from the noise itself in its VP space (init_noise_sigma 1), i.e. noise / alpha here
        Tensor x = noise.mul(Math.sqrt(sigmas[0] * sigmas[0] + 1));
        return solve(dataPrediction(model), x, sigmas, ts);
    }

    /** The UNet (noise or v output) as a denoiser: it sees x / sqrt(sigma^2 + 1), diffusers' VP sample. */
    DataPrediction dataPrediction(Denoiser model) {
        return (x, sigma, t) -> {
            double scale = 1 / Math.sqrt(sigma * sigma + 1);      // VP alpha_t; VP sigma_t = sigma·scale
            Tensor out = model.predict(x.mul(scale), t);
            // v-prediction: x0 = alpha_t·sample - sigma_t·v, with sample = x·scale
            return vPrediction ? x.mul(scale * scale).sub(out.mul(sigma * scale)) : x.sub(out.mul(sigma));
        };
    }

    /**
     * DPM++ 2M along any decreasing sigma ladder (timesteps one per step, sigmas one more); a final
     * sigma of 0 makes the last step return the denoised estimate.
     */
    static Tensor solve(DataPrediction model, Tensor x, double[] sigmas, int[] timesteps) {
        Tensor old = null;
        double hLast = 0;
        for (int i = 0; i + 1 < sigmas.length; i++) {
            double s = sigmas[i], next = sigmas[i + 1];
            Tensor denoised = model.denoise(x, s, timesteps[i]);
            if (next == 0) {
                // h is infinite: sigma_next / sigma = 0 and -expm1(-h) = 1, and the correction's weight 1/(2r) is 0
                x = denoised;
            } else {
                double h = Math.log(s / next);
                Tensor d = denoised;
                if (old != null) {
                    double k = 1 / (2 * (hLast / h));
                    d = denoised.mul(1 + k).sub(old.mul(k));
                }
                x = x.mul(next / s).sub(d.mul(Math.expm1(-h)));
                hLast = h;
            }
            old = denoised;
        }
        return x;
    }
}
