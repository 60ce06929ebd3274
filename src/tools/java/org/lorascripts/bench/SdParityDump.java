package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Runs our UNet, VAE and (SDXL) text encoders on fixed inputs and writes the outputs, for comparison
 * with diffusers and transformers (tools/parity/sd_parity.py does both sides). Usage:
 * {@code SdParityDump MODEL OUT.safetensors [INPUTS.safetensors|-] [device=cpu] [dtype=f32]}.
 * MODEL is a diffusers folder or an SD / SDXL single file. INPUTS holds {@code latents} (B, 4, h, w),
 * {@code timesteps} (B) int64, {@code encoder_hidden_states} (B, 77, D), {@code images} (B, 3, H, W),
 * {@code vae_noise} (B, 4, H/f, W/f) and optionally {@code latents_odd} (sides not divisible by the
 * UNet's downscale; used with the same timesteps and text states); for SDXL also {@code text_embeds}
 * (B, P) and {@code time_ids} (B, 6) (the UNet's added conditions) and optionally {@code te1_input_ids}
 * and {@code te2_input_ids} (B, 77) int64 (each encoder's own padding). Without INPUTS, seeded random
 * inputs are made and written too. Outputs (fp32): {@code unet_out}, {@code unet_out_odd},
 * {@code vae_mean}, {@code vae_logvar}, {@code vae_latents} ((mean + std * noise) * scaling),
 * {@code vae_decoded} (decode of {@code latents}, i.e. diffusers' {@code vae.decode(latents / scaling_factor)});
 * for SDXL with ids also {@code te1_penultimate} and {@code te2_penultimate} (HF's {@code hidden_states[-2]},
 * no final norm) and {@code te2_pooled} (TE2's {@code text_embeds}: projected pooled output), computed by
 * the classes and checkpoint accessors {@code SdPipeline} uses.
 */
public final class SdParityDump {
    private SdParityDump() {}

    /** The SDXL text encoder inputs and outputs. */
    public static final String TE1_IDS = "te1_input_ids", TE2_IDS = "te2_input_ids";

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: SdParityDump MODEL OUT.safetensors [INPUTS.safetensors|-] [device=cpu] [dtype=f32]");
            System.exit(2);
        }
        Path inputsFile = args.length > 2 && !args[2].equals("-") ? Path.of(args[2]) : null;
        Map<String, long[]> shapes = dump(Path.of(args[0]), Path.of(args[1]), inputsFile, Device.parse(args.length > 3 ? args[3] : "cpu"),
                DType.parse(args.length > 4 ? args[4] : "f32"));
        for (var e : shapes.entrySet()) System.err.println(e.getKey() + " " + Arrays.toString(e.getValue()));
    }

    /**
     * Loads {@code model}, runs it on the inputs of {@code inputsFile} (null: seeded ones) and writes inputs and
     * outputs to {@code out}; returns every written tensor's shape by name.
     */
    public static Map<String, long[]> dump(Path model, Path out, Path inputsFile, Device dev, DType dt) throws IOException {
        // fp32 as the reference computes it: no TF32 in matmuls or cuDNN convolutions (libtorch allows it in convolutions by default)
        if (dev.isCuda()) org.lorascripts.tensor.Cuda.setTf32(false);
        try (var ng = Autograd.noGrad(); Scope s = Scope.open(); SdCheckpoint ckpt = SdCheckpointLoader.open(model)) {
            System.err.println("loaded " + ckpt + ": " + ckpt.unetConfig());
            boolean sdxl = ckpt.family() == SdFamily.SDXL;
            Map<String, Tensor> in = new LinkedHashMap<>();
            if (inputsFile != null) {
                try (SafetensorsFile f = SafetensorsFile.open(inputsFile)) {
                    for (String n : f.names()) in.put(n, TensorIO.read(f, n));
                }
            } else {
                in = seededInputs(ckpt, sdxl);
            }
            Map<String, Tensor> res = new LinkedHashMap<>(in);
            Tensor t = in.get("timesteps").to(DType.I64, dev), ctx = in.get("encoder_hidden_states").to(dt, dev);
            AddedConditions added = null;
            if (sdxl) {
                for (String n : List.of("text_embeds", "time_ids")) {
                    if (!in.containsKey(n)) throw new IllegalArgumentException(model + " is an SDXL model: the inputs need " + n);
                }
                added = new AddedConditions(in.get("text_embeds").to(dt, dev), in.get("time_ids").to(DType.F32, dev));
            }
            try (UNet2DConditionModel unet = ckpt.loadUnet(dev, dt)) {
                res.put("unet_out", cpu(unet.forward(in.get("latents").to(dt, dev), t, ctx, added)));
                if (in.containsKey("latents_odd")) {
                    res.put("unet_out_odd", cpu(unet.forward(in.get("latents_odd").to(dt, dev), t, ctx, added)));
                }
            }
            try (AutoencoderKL vae = ckpt.loadVae(dev, dt)) {
                Tensor img = in.get("images").to(dt, dev);
                AutoencoderKL.LatentDistribution d = vae.encode(img);
                res.put("vae_mean", cpu(d.mean()));
                res.put("vae_logvar", cpu(d.logvar()));
                res.put("vae_latents", cpu(vae.encodeToLatents(img, in.get("vae_noise").to(dt, dev))));
                res.put("vae_decoded", cpu(vae.decode(in.get("latents").to(dt, dev))));
            }
            if (sdxl && in.containsKey(TE1_IDS) && in.containsKey(TE2_IDS)) textEncoders(ckpt, in, res, dev, dt);
            Files.createDirectories(out.toAbsolutePath().getParent());
            TensorIO.save(out, res, Map.of("model", model.toString(), "device", dev.toString(), "dtype", dt.displayName()));
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (var e : res.entrySet()) shapes.put(e.getKey(), e.getValue().shape());
            return shapes;
        }
    }

    /** SDXL's two encoders as {@code SdPipeline} builds and calls them (TE1's penultimate state; TE2's penultimate state and projected pool). */
    private static void textEncoders(SdCheckpoint ckpt, Map<String, Tensor> in, Map<String, Tensor> res, Device dev, DType dt) {
        try (Weights tw1 = new Weights(ckpt.textWeights(SdxlTextEncoder.TE1), dev, dt);
             Weights tw2 = new Weights(ckpt.textWeights(SdxlTextEncoder.TE2), dev, dt)) {
            ClipTextModel te1 = new ClipTextModel(tw1, ckpt.textConfig(SdxlTextEncoder.TE1));
            ClipTextModelWithProjection te2 = new ClipTextModelWithProjection(tw2, ckpt.textConfig(SdxlTextEncoder.TE2), ckpt.pooledTextDim());
            res.put("te1_penultimate", cpu(te1.penultimateHiddenState(in.get(TE1_IDS).to(DType.I64, dev))));
            ClipTextModelWithProjection.Output o2 = te2.forward(in.get(TE2_IDS).to(DType.I64, dev));
            res.put("te2_penultimate", cpu(o2.penultimateHiddenState()));
            res.put("te2_pooled", cpu(o2.textEmbeds()));
        }
    }

    private static Tensor cpu(Tensor t) { return t.to(DType.F32, Device.CPU); }

    private static Map<String, Tensor> seededInputs(SdCheckpoint c, boolean sdxl) {
        Rng.manualSeed(0);
        int f = c.vaeConfig().downscale();
        long ctxDim = c.unetConfig().crossAttentionDim();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("latents", Torch.randn(new long[] {2, 4, 8, 12}, DType.F32, Device.CPU));
        in.put("latents_odd", Torch.randn(new long[] {2, 4, 9, 7}, DType.F32, Device.CPU));
        in.put("timesteps", Torch.of(new long[] {999, 37}));
        in.put("encoder_hidden_states", Torch.randn(new long[] {2, 77, ctxDim}, DType.F32, Device.CPU));
        in.put("images", Torch.rand(new long[] {2, 3, 8L * f, 12L * f}, DType.F32, Device.CPU).mul(2).sub(1));
        in.put("vae_noise", Torch.randn(new long[] {2, 4, 8, 12}, DType.F32, Device.CPU));
        if (sdxl) {
            UNetConfig.TextTime tt = c.unetConfig().textTime();
            long pooled = tt.inputDim() - (long) AddedConditions.TIME_IDS * tt.timeEmbedDim();
            in.put("text_embeds", Torch.randn(new long[] {2, pooled}, DType.F32, Device.CPU));
            in.put("time_ids", Torch.of(new float[] {1024, 1024, 0, 0, 1024, 1024, 768, 1344, 32, 64, 1024, 1024}, 2, 6));
            in.put(TE1_IDS, promptIds(49407));
            in.put(TE2_IDS, promptIds(0));
        }
        return in;
    }

    /** Two fixed prompts of 5 and 30 tokens as CLIP ids (BOS, words, EOS, then {@code pad}), (2, 77) int64. */
    static Tensor promptIds(long pad) {
        long[] ids = new long[2 * 77];
        int[] lengths = {5, 30};
        for (int b = 0; b < 2; b++) {
            int o = b * 77;
            ids[o] = 49406;
            for (int i = 1; i <= lengths[b]; i++) ids[o + i] = 320 + (37L * i + 1009L * b) % 49000;
            ids[o + lengths[b] + 1] = 49407;
            for (int i = lengths[b] + 2; i < 77; i++) ids[o + i] = pad;
        }
        return Torch.of(ids, 2, 77);
    }
}
