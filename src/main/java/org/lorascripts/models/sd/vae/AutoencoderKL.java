package org.lorascripts.models.sd.vae;

import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * The SD VAE, diffusers' {@code AutoencoderKL} with its parameter names: encoder → quant_conv →
 * a diagonal Gaussian over latents; post_quant_conv → decoder. Latents for the UNet are
 * {@code sample * scaling_factor}; decode takes UNet-space latents and divides first.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/autoencoders/autoencoder_kl.py
 * (DiagonalGaussianDistribution in models/autoencoders/vae.py).
 */
public final class AutoencoderKL implements AutoCloseable {
    private final VaeConfig config;
    private final Weights weights;
    private final boolean ownsWeights;
    private final VaeEncoder encoder;
    private final VaeDecoder decoder;
    private final Conv2d quantConv, postQuantConv;

    /** The latent distribution: mean and log-variance (B, latent, h, w); logvar clamped to [-30, 20]. */
    public record LatentDistribution(Tensor mean, Tensor logvar) {
        public Tensor std() { return logvar.mul(0.5).exp(); }

        /** mean + std * noise (noise ~ N(0, 1), same shape). */
        public Tensor sample(Tensor noise) { return mean.add(std().mul(noise)); }

        public Tensor mode() { return mean; }
    }

    public AutoencoderKL(Weights w, VaeConfig c) { this(w, c, false); }

    private AutoencoderKL(Weights w, VaeConfig c, boolean owns) {
        this.config = c;
        this.weights = w;
        this.ownsWeights = owns;
        long lat2 = 2L * c.latentChannels();
        encoder = new VaeEncoder(w.pp("encoder"), c);
        decoder = new VaeDecoder(w.pp("decoder"), c);
        quantConv = new Conv2d(w.pp("quant_conv"), lat2, lat2, 1, 1, 0, true);
        postQuantConv = new Conv2d(w.pp("post_quant_conv"), c.latentChannels(), c.latentChannels(), 1, 1, 0, true);
    }

    public static AutoencoderKL load(VaeConfig c, WeightSource source, Device device, DType dtype) {
        Weights w = new Weights(source, device, dtype);
        try {
            return new AutoencoderKL(w, c, true);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public VaeConfig config() { return config; }

    public Map<String, Tensor> parameters() { return weights.loadedTensors(); }

    /** images (B, 3, H, W) in [-1, 1] → the latent distribution (B, latent, H/f, W/f), f = 2^(blocks-1). */
    public LatentDistribution encode(Tensor images) {
        Tensor x = images.dtype() == quantConv.weight().dtype() ? images : images.to(quantConv.weight().dtype());
        Tensor moments = quantConv.forward(encoder.forward(x));                 // (B, 2 latent, h, w)
        List<Tensor> mv = moments.chunk(2, 1);
        return new LatentDistribution(mv.get(0), mv.get(1).clamp(-30, 20));
    }

    /**
     * UNet-space latents: (mean + std * noise) * scaling_factor, or mean * scaling_factor when noise is
     * null (the distribution's mode, as many trainers cache).
     */
    public Tensor encodeToLatents(Tensor images, Tensor noiseOrNull) {
        LatentDistribution d = encode(images);
        Tensor z = noiseOrNull == null ? d.mode() : d.sample(noiseOrNull.dtype() == d.mean().dtype() ? noiseOrNull : noiseOrNull.to(d.mean().dtype()));
        return z.mul(config.scalingFactor());
    }

    /** UNet-space latents (B, latent, h, w) → images (B, 3, h f, w f), roughly in [-1, 1]. */
    public Tensor decode(Tensor latents) {
        Tensor z = latents.dtype() == postQuantConv.weight().dtype() ? latents : latents.to(postQuantConv.weight().dtype());
        return decodeRaw(z.div(config.scalingFactor()));
    }

    /** VAE-space latents (not scaled) → images, as diffusers' {@code AutoencoderKL.decode}. */
    public Tensor decodeRaw(Tensor z) {
        return decoder.forward(postQuantConv.forward(z));
    }

    @Override public void close() {
        if (ownsWeights) weights.close();
    }
}
