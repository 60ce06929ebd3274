package org.lorascripts.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Runs our UNet and VAE on fixed inputs and writes the outputs, for comparison with diffusers
 * (tools/parity/sd_parity.py does both sides). Usage:
 * {@code SdParityDump MODEL OUT.safetensors [INPUTS.safetensors] [device=cpu] [dtype=f32]}.
 * MODEL is a diffusers folder or an SD single file. INPUTS holds {@code latents} (B, 4, h, w),
 * {@code timesteps} (B) int64, {@code encoder_hidden_states} (B, 77, D), {@code images} (B, 3, H, W),
 * {@code vae_noise} (B, 4, H/f, W/f) and optionally {@code latents_odd} (sides not divisible by the
 * UNet's downscale; used with the same timesteps and text states); without it, seeded random inputs
 * are made and written too. Outputs (fp32): {@code unet_out}, {@code unet_out_odd}, {@code vae_mean},
 * {@code vae_logvar}, {@code vae_latents} ((mean + std * noise) * scaling), {@code vae_decoded}
 * (decode of {@code latents}, i.e. diffusers' {@code vae.decode(latents / scaling_factor)}).
 */
public final class SdParityDump {
    private SdParityDump() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: SdParityDump MODEL OUT.safetensors [INPUTS.safetensors] [device=cpu] [dtype=f32]");
            System.exit(2);
        }
        Path model = Path.of(args[0]), out = Path.of(args[1]);
        Path inputsFile = args.length > 2 && !args[2].equals("-") ? Path.of(args[2]) : null;
        Device dev = Device.parse(args.length > 3 ? args[3] : "cpu");
        DType dt = DType.parse(args.length > 4 ? args[4] : "f32");
        try (var ng = Autograd.noGrad(); Scope s = Scope.open(); SdCheckpoint ckpt = SdCheckpointLoader.open(model)) {
            System.err.println("loaded " + ckpt + ": " + ckpt.unetConfig());
            Map<String, Tensor> in = new LinkedHashMap<>();
            if (inputsFile != null) {
                try (SafetensorsFile f = SafetensorsFile.open(inputsFile)) {
                    for (String n : f.names()) in.put(n, TensorIO.read(f, n));
                }
            } else {
                in = seededInputs(ckpt);
            }
            Map<String, Tensor> res = new LinkedHashMap<>(in);
            Tensor t = in.get("timesteps").to(DType.I64, dev), ctx = in.get("encoder_hidden_states").to(dt, dev);
            try (UNet2DConditionModel unet = ckpt.loadUnet(dev, dt)) {
                res.put("unet_out", unet.forward(in.get("latents").to(dt, dev), t, ctx).to(DType.F32, Device.CPU));
                if (in.containsKey("latents_odd")) {
                    res.put("unet_out_odd", unet.forward(in.get("latents_odd").to(dt, dev), t, ctx).to(DType.F32, Device.CPU));
                }
            }
            try (AutoencoderKL vae = ckpt.loadVae(dev, dt)) {
                Tensor img = in.get("images").to(dt, dev);
                AutoencoderKL.LatentDistribution d = vae.encode(img);
                res.put("vae_mean", d.mean().to(DType.F32, Device.CPU));
                res.put("vae_logvar", d.logvar().to(DType.F32, Device.CPU));
                res.put("vae_latents", vae.encodeToLatents(img, in.get("vae_noise").to(dt, dev)).to(DType.F32, Device.CPU));
                res.put("vae_decoded", vae.decode(in.get("latents").to(dt, dev)).to(DType.F32, Device.CPU));
            }
            Files.createDirectories(out.toAbsolutePath().getParent());
            TensorIO.save(out, res, Map.of("model", model.toString(), "device", dev.toString(), "dtype", dt.displayName()));
            for (var e : res.entrySet()) System.err.println(e.getKey() + " " + e.getValue());
        }
    }

    private static Map<String, Tensor> seededInputs(SdCheckpoint c) {
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
        return in;
    }
}
