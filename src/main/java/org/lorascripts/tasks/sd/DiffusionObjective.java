package org.lorascripts.tasks.sd;

import org.lorascripts.config.TrainConfig;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;

/**
 * The denoising loss of SD LoRA training, as kohya's {@code train_network.py} computes it: noise ~ N(0, 1)
 * (+ noise_offset · N(0, 1) per (B, C, 1, 1), kohya's {@code apply_noise_offset}, its strength optionally scaled by
 * U[0, 1) ({@code noise_offset_random_strength}) and raised by {@code adaptive_noise_scale} · |mean of the latents per
 * channel|, clamped at 0), t ~ uniform{min_timestep..max_timestep-1}, x_t = sqrt(ab) x0 + sqrt(1 - ab) (noise +
 * ip_noise_gamma · N(0, 1)) (the input perturbation, its strength optionally random), target = noise (epsilon) or v,
 * per-example MSE over (C, H, W) in fp32, then kohya's per-timestep loss weights in its order: min-SNR
 * ({@code apply_snr_weight}: min(snr, γ) / snr for epsilon, min(snr, γ) / (snr + 1) for v),
 * {@code scale_v_pred_loss_like_noise_pred} (× s, s = snr/(snr + 1) with snr capped at 1000), {@code v_pred_like_loss}
 * (× (1 + v / s)) and {@code debiased_estimation_loss} (× 1/sqrt(snr), 1/(snr + 1) for v; snr capped at 1000), all
 * looked up on the device. {@code multires_noise_iterations} adds kohya's pyramid noise ({@link #pyramidNoise}).
 * Randomness is drawn from libtorch's generator of the latents' device, in kohya's order (noise, offset strength,
 * offset, pyramid levels, timesteps, perturbation strength, perturbation); the pyramid's size factors come from the CPU
 * generator.
 */
public final class DiffusionObjective {
    private final DdpmSchedule schedule;
    private final boolean vPrediction;
    private final double noiseOffset;
    private final double minSnrGamma;
    private final TrainConfig.Diffusion opts;

    public DiffusionObjective(DdpmSchedule schedule, boolean vPrediction, double noiseOffset, double minSnrGamma) {
        this(schedule, vPrediction, noiseOffset, minSnrGamma, TrainConfig.Diffusion.NONE);
    }

    public DiffusionObjective(DdpmSchedule schedule, boolean vPrediction, double noiseOffset, double minSnrGamma, TrainConfig.Diffusion opts) {
        if (opts.minTimestep() >= opts.maxTimestep() || opts.maxTimestep() > DdpmSchedule.TRAIN_STEPS) {
            throw new IllegalArgumentException("min_timestep " + opts.minTimestep() + " must be below max_timestep " + opts.maxTimestep()
                    + " (at most " + DdpmSchedule.TRAIN_STEPS + ")");
        }
        this.schedule = schedule;
        this.vPrediction = vPrediction;
        this.noiseOffset = noiseOffset;
        this.minSnrGamma = minSnrGamma;
        this.opts = opts;
    }

    /** The model under training: noisy latents (B, 4, h, w) at timesteps (B) → its prediction (B, 4, h, w). */
    @FunctionalInterface
    public interface Denoiser {
        Tensor predict(Tensor noisy, Tensor timesteps);
    }

    /** latents (B, 4, h, w) f32, text states (B, L, D) → per-example losses (B) f32. */
    public Tensor perExampleLoss(UNet2DConditionModel unet, Tensor latents, Tensor textStates) {
        return perExampleLoss(latents, (x, t) -> unet.forward(x, t, textStates));
    }

    /**
     * The same for any conditioning the denoiser closes over (SDXL's pooled embedding and time ids);
     * the random draws are the same as above, so a run's noise does not depend on the family.
     */
    public Tensor perExampleLoss(Tensor latents, Denoiser denoiser) {
        long b = latents.size(0);
        var dev = latents.device();
        Tensor noise = Torch.randn(latents.shape(), DType.F32, dev);                       // (B, 4, h, w)
        if (noiseOffset > 0) {
            // kohya: noise_offset (× U[0, 1) with random strength; + adaptive_noise_scale · |mean over h, w|, clamped at 0)
            Tensor strength = opts.noiseOffsetRandomStrength() ? Torch.rand(new long[] {1}, DType.F32, dev).mul(noiseOffset) : null;
            if (opts.adaptiveNoiseScale() != 0) {
                Tensor adaptive = latents.to(DType.F32).mean(new long[] {2, 3}, true).abs().mul(opts.adaptiveNoiseScale());   // (B, C, 1, 1)
                strength = (strength == null ? adaptive.add(noiseOffset) : adaptive.add(strength)).clampMin(0);
            }
            Tensor offset = Torch.randn(new long[] {b, latents.size(1), 1, 1}, DType.F32, dev);
            noise = noise.add(strength == null ? offset.mul(noiseOffset) : offset.mul(strength));
        }
        if (opts.multiresNoiseIterations() > 0) noise = pyramidNoise(noise, opts.multiresNoiseIterations(), opts.multiresNoiseDiscount());
        Tensor t = Torch.randint(opts.minTimestep(), opts.maxTimestep(), new long[] {b}, dev);       // (B)
        Tensor input = noise;
        if (opts.ipNoiseGamma() > 0) {
            // kohya's input perturbation: the noisy latents carry extra noise the target does not
            Tensor strength = opts.ipNoiseGammaRandomStrength() ? Torch.rand(new long[] {1}, DType.F32, dev).mul(opts.ipNoiseGamma()) : null;
            Tensor extra = Torch.randn(latents.shape(), DType.F32, dev);
            input = noise.add(strength == null ? extra.mul(opts.ipNoiseGamma()) : extra.mul(strength));
        }
        Tensor noisy = schedule.addNoise(latents, input, t);
        Tensor target = vPrediction ? schedule.velocity(latents, noise, t) : noise;
        Tensor pred = denoiser.predict(noisy, t).to(DType.F32);                    // (B, 4, h, w)
        Tensor loss = pred.sub(target).square().mean(new long[] {1, 2, 3}, false);          // (B)
        return weighted() ? loss.mul(snrWeights(t, latents)) : loss;
    }

    /**
     * kohya's {@code pyramid_noise_like}: level i adds N(0, 1) noise of the size divided by r^i (r uniform in [2, 4), drawn
     * from the CPU generator per level; at least 1x1), upscaled bilinearly to the full size and weighted discount^i, until
     * a level is 1 pixel wide; the sum is divided by its standard deviation. Level 0 is full-size noise of weight 1.
     */
    static Tensor pyramidNoise(Tensor noise, int iterations, double discount) {
        long b = noise.size(0), c = noise.size(1), h = noise.size(2), w = noise.size(3);
        Tensor sum = noise;
        for (int i = 0; i < iterations; i++) {
            double r;
            try (Tensor u = Torch.rand(new long[] {1}, DType.F32, org.lorascripts.tensor.Device.CPU)) {
                r = u.item() * 2 + 2;
            }
            long hn = Math.max(1, (long) (h / Math.pow(r, i))), wn = Math.max(1, (long) (w / Math.pow(r, i)));
            Tensor level = Torch.randn(new long[] {b, c, hn, wn}, DType.F32, noise.device());
            Tensor up = org.lorascripts.tensor.Functional.interpolate(level, h, w, org.lorascripts.tensor.Functional.Interpolation.BILINEAR, false, false);
            sum = sum.add(up.mul(Math.pow(discount, i)));
            if (hn == 1 || wn == 1) break;
        }
        return sum.div(sum.var(new long[] {0, 1, 2, 3}, true, false).sqrt());
    }

    /** Whether any per-timestep loss weight applies. */
    private boolean weighted() {
        return minSnrGamma > 0 || opts.scaleVPredLossLikeNoisePred() || opts.vPredLikeLoss() > 0 || opts.debiasedEstimationLoss();
    }

    /**
     * The per-example losses multiplied by per-example weights (B), as kohya's {@code loss = loss * loss_weights}
     * (prior_loss_weight for regularization images, 1 otherwise); the caller averages over the batch.
     */
    public static Tensor weighted(Tensor perExampleLoss, double[] weights) {
        boolean ones = true;
        for (double w : weights) ones &= w == 1.0;
        if (ones) return perExampleLoss;
        float[] w = new float[weights.length];
        for (int i = 0; i < w.length; i++) w[i] = (float) weights[i];
        try (Tensor cpu = Torch.of(w, w.length); Tensor dev = cpu.to(DType.F32, perExampleLoss.device())) {
            return perExampleLoss.mul(dev);
        }
    }

    private final java.util.Map<org.lorascripts.tensor.Device, Tensor> snrTables = new java.util.concurrent.ConcurrentHashMap<>();

    /** (B) f32 weights on the latents' device, looked up there (nothing read back to the host). */
    private Tensor snrWeights(Tensor t, Tensor like) {
        return DdpmSchedule.lookup(snrTables, t, like.device(), i -> (float) snrWeight(i)).reshape(t.numel());
    }

    /**
     * {@link #weighted(Tensor, double[])} with the weights already on the device (B) f32 (CUDA graphs:
     * the weights are a step input).
     */
    public static Tensor weighted(Tensor perExampleLoss, Tensor weights) { return perExampleLoss.mul(weights); }

    /**
     * The loss weight of timestep t: kohya's min-SNR weight (when min_snr_gamma is set) times the v-prediction scale,
     * the v-prediction-like term and the debiased-estimation weight that are asked for (1 when none is).
     */
    public double snrWeight(int t) {
        double snr = schedule.snr(t);
        double w = 1;
        if (minSnrGamma > 0) {
            double clipped = Math.min(snr, minSnrGamma);
            w = vPrediction ? clipped / (snr + 1) : clipped / snr;
        }
        double capped = Math.min(snr, 1000);          // kohya: snr is inf at t = 0 in its float32 table, so it caps at 1000
        double scale = capped / (capped + 1);
        if (opts.scaleVPredLossLikeNoisePred()) w *= scale;
        if (opts.vPredLikeLoss() > 0) w *= 1 + opts.vPredLikeLoss() / scale;
        if (opts.debiasedEstimationLoss()) w *= vPrediction ? 1 / (capped + 1) : 1 / Math.sqrt(capped);
        return w;
    }
}
