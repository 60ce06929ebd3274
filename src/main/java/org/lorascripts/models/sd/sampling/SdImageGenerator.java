package org.lorascripts.models.sd.sampling;

import java.util.List;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.io.PngWriter;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdPipeline;

/**
 * Text to image with a {@link SdPipeline} and whatever adapters are attached to it: classifier-free
 * guidance (uncond + scale · (cond - uncond), the negative prompt as uncond), DDIM, Euler ancestral
 * or DPM++ 2M (optionally at Karras sigmas), VAE decode, PNG. The starting noise is drawn on the CPU
 * from {@code seed} (as the WebUI does by default), so a seed gives the same image on any device;
 * Euler a's per-step noise comes from the device's generator, seeded with the same value.
 *
 * <p>SDXL: the UNet also gets the pooled text embedding (the negative prompt's on the uncond side; zeros
 * for no negative prompt, see {@link SdPipeline#encodeNegative}) and time ids saying the image is
 * uncropped at its own size, for every sampler (they all go through one {@link Denoiser}).
 */
public final class SdImageGenerator {
    /** What to draw. width and height must be multiples of the VAE's downscale times 2^(UNet levels - 1). */
    public record Request(String prompt, String negative, int width, int height, int steps, double cfgScale,
                          SampleSampler sampler, long seed) {}

    private final SdPipeline pipeline;
    private final int maxTokenLength;
    private final int clipSkip;

    public SdImageGenerator(SdPipeline pipeline, int maxTokenLength, int clipSkip) {
        this.pipeline = pipeline;
        this.maxTokenLength = maxTokenLength;
        this.clipSkip = clipSkip;
    }

    /** An RGB PNG of the request. */
    public byte[] png(Request r) {
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            Tensor image = generate(r);                                                   // (1, 3, H, W)
            return toPng(image.select(0, 0));
        }
    }

    /** The decoded image (1, 3, H, W) in [-1, 1] (roughly), f32; belongs to the caller's scope. */
    public Tensor generate(Request r) {
        int f = pipeline.vaeDownscale();
        int levels = pipeline.unet().config().blockOutChannels().size();
        int multiple = f * (1 << (levels - 1));
        if (r.width() % multiple != 0 || r.height() % multiple != 0 || r.width() <= 0 || r.height() <= 0) {
            throw new IllegalArgumentException("image size " + r.width() + "x" + r.height() + " must be a positive multiple of " + multiple
                    + " for this model");
        }
        Device device = pipeline.device();
        SdPipeline.Conditioning cond = pipeline.encodeConditioning(r.prompt(), maxTokenLength, clipSkip);   // (1, L, D), SDXL: (1, P)
        boolean guided = r.cfgScale() != 1.0;
        SdPipeline.Conditioning uncond = guided ? pipeline.encodeNegative(r.negative(), maxTokenLength, clipSkip, cond) : null;
        Tensor context = guided ? Torch.cat(List.of(uncond.context(), cond.context()), 0) : cond.context();  // (2, L, D): uncond, cond
        Tensor pooled = cond.pooled() == null ? null
                : guided ? Torch.cat(List.of(uncond.pooled(), cond.pooled()), 0) : cond.pooled();        // (2, P) likewise
        Rng.manualSeed(Device.CPU, r.seed());
        if (device.isCuda()) Rng.manualSeed(device, r.seed());
        long[] shape = {1, pipeline.unet().config().inChannels(), r.height() / f, r.width() / f};
        Tensor noise = Torch.randn(shape, DType.F32, Device.CPU).to(device);              // (1, 4, h, w)
        Denoiser model = (x, t) -> {
            Tensor in = guided ? Torch.cat(List.of(x, x), 0) : x;
            Tensor ts = Torch.full(new long[] {in.size(0)}, t, DType.I64, device);
            Tensor out = pipeline.predict(in, ts, context, pooled, r.height(), r.width()).to(DType.F32);
            if (!guided) return out;
            List<Tensor> uc = out.chunk(2, 0);
            return uc.get(0).add(uc.get(1).sub(uc.get(0)).mul(r.cfgScale()));
        };
        boolean v = pipeline.vPrediction();
        Tensor latents = switch (r.sampler()) {
            case DDIM -> new DdimSampler(pipeline.schedule(), v).sample(model, noise, r.steps());
            case EULER_A -> new EulerAncestralSampler(pipeline.schedule(), v).sample(model, noise, r.steps());
            case DPMPP_2M -> new DpmSolverMultistepSampler(pipeline.schedule(), v, false).sample(model, noise, r.steps());
            case DPMPP_2M_KARRAS -> new DpmSolverMultistepSampler(pipeline.schedule(), v, true).sample(model, noise, r.steps());
        };
        return pipeline.decodeLatents(latents).to(DType.F32);
    }

    /** (3, H, W) in [-1, 1] → RGB PNG bytes, as diffusers' postprocess: (x + 1) / 2, clamped, × 255, rounded. */
    public static byte[] toPng(Tensor image) {
        long h = image.size(1), w = image.size(2);
        Tensor rgb = image.to(DType.F32, Device.CPU).add(1).div(2).clamp(0, 1).mul(255).round()
                .permute(1, 2, 0).contiguous().to(DType.U8);                               // (H, W, 3)
        return PngWriter.encode(rgb.toByteArray(), (int) w, (int) h, PngWriter.Channels.RGB);
    }
}
