package org.lorascripts.tasks.sd;

import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;

/**
 * The denoising loss of SD LoRA training, as kohya's {@code train_network.py} computes it: noise ~ N(0, 1)
 * (+ noise_offset · N(0, 1) per (B, C, 1, 1), kohya's {@code apply_noise_offset}), t ~ uniform{0..999},
 * x_t = sqrt(ab) x0 + sqrt(1 - ab) noise, target = noise (epsilon) or v, per-example MSE over (C, H, W)
 * in fp32, optionally weighted by min-SNR (kohya's {@code apply_snr_weight}: min(snr, γ) / snr for
 * epsilon, min(snr, γ) / (snr + 1) for v). Randomness is drawn from libtorch's generator of the
 * latents' device, in kohya's order (noise, offset, timesteps).
 */
public final class DiffusionObjective {
    private final DdpmSchedule schedule;
    private final boolean vPrediction;
    private final double noiseOffset;
    private final double minSnrGamma;

    public DiffusionObjective(DdpmSchedule schedule, boolean vPrediction, double noiseOffset, double minSnrGamma) {
        this.schedule = schedule;
        this.vPrediction = vPrediction;
        this.noiseOffset = noiseOffset;
        this.minSnrGamma = minSnrGamma;
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
        Tensor noise = Torch.randn(latents.shape(), DType.F32, latents.device());          // (B, 4, h, w)
        if (noiseOffset > 0) {
            Tensor offset = Torch.randn(new long[] {b, latents.size(1), 1, 1}, DType.F32, latents.device());
            noise = noise.add(offset.mul(noiseOffset));
        }
        Tensor t = Torch.randint(0, DdpmSchedule.TRAIN_STEPS, new long[] {b}, latents.device()); // (B)
        Tensor noisy = schedule.addNoise(latents, noise, t);
        Tensor target = vPrediction ? schedule.velocity(latents, noise, t) : noise;
        Tensor pred = denoiser.predict(noisy, t).to(DType.F32);                    // (B, 4, h, w)
        Tensor loss = pred.sub(target).square().mean(new long[] {1, 2, 3}, false);          // (B)
        return minSnrGamma > 0 ? loss.mul(snrWeights(t, latents)) : loss;
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

    /** kohya's min-SNR weight of timestep t. */
    public double snrWeight(int t) {
        double snr = schedule.snr(t);
        double clipped = Math.min(snr, minSnrGamma);
        return vPrediction ? clipped / (snr + 1) : clipped / snr;
    }
}
