package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * One SDXL UNet LoRA training step's gradients, for comparison with the same step on diffusers
 * (tools/parity/sd_parity.py, variant sdxl). The UNet of MODEL (fp32) gets rank-{@value #RANK},
 * alpha-{@value #ALPHA} adapters on the modules training targets ({@link SdLoraTargets#unet}: every
 * Linear inside a Transformer2DModel), its up matrices drawn from N(0, 0.05) so that both factors get
 * gradients; then {@code mse(unet(latents, timesteps, encoder_hidden_states, text_embeds, time_ids), target)}
 * (mean) and backward. Usage: {@code SdxlLoraGradDump MODEL OUT.safetensors INPUTS.safetensors [device=cpu]};
 * INPUTS as {@link SdParityDump}'s plus {@code target} shaped like {@code latents}. Writes {@code lora_loss} (1),
 * {@code lora_unet_out}, and per adapter (diffusers module name M) {@code M.lora_down.weight},
 * {@code M.lora_up.weight} (the step's starting values), {@code M.lora_down.grad}, {@code M.lora_up.grad};
 * metadata {@code scale} (alpha / rank).
 */
public final class SdxlLoraGradDump {
    private SdxlLoraGradDump() {}

    static final int RANK = 4;
    static final double ALPHA = 2;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: SdxlLoraGradDump MODEL OUT.safetensors INPUTS.safetensors [device=cpu]");
            System.exit(2);
        }
        int n = dump(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), Device.parse(args.length > 3 ? args[3] : "cpu"));
        System.err.println(n + " adapters written to " + args[1]);
    }

    /** Runs the step and writes the file; returns the number of adapters. */
    public static int dump(Path model, Path out, Path inputsFile, Device dev) throws IOException {
        // fp32 as the reference computes it: no TF32 in matmuls or cuDNN convolutions (libtorch allows it in convolutions by default)
        if (dev.isCuda()) org.lorascripts.tensor.Cuda.setTf32(false);
        try (Scope s = Scope.open(); SdCheckpoint ckpt = SdCheckpointLoader.open(model)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(inputsFile)) {
                for (String name : f.names()) in.put(name, TensorIO.read(f, name));
            }
            if (ckpt.unetConfig().textTime() == null) throw new IllegalArgumentException(model + ": not an SDXL UNet (no text_time added condition)");
            Map<String, Tensor> res = new LinkedHashMap<>();
            Rng.manualSeed(7);  // the adapters' starting values (kaiming-uniform down, N(0, 0.05) up) are reproducible
            try (UNet2DConditionModel unet = ckpt.loadUnet(dev, DType.F32);
                 LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), SdLoraTargets.unet(false), LoraSpec.of(RANK, ALPHA), dev)) {
                for (LoraAdapter a : lora.adapters().values()) a.up().detach().normal_(0, 0.05);
                lora.setTraining(true);
                for (var e : lora.adapters().entrySet()) {
                    res.put(e.getKey() + ".lora_down.weight", e.getValue().down().detach().to(DType.F32, Device.CPU));
                    res.put(e.getKey() + ".lora_up.weight", e.getValue().up().detach().to(DType.F32, Device.CPU));
                }
                AddedConditions added = new AddedConditions(in.get("text_embeds").to(DType.F32, dev), in.get("time_ids").to(DType.F32, dev));
                Tensor pred = unet.forward(in.get("latents").to(DType.F32, dev), in.get("timesteps").to(DType.I64, dev),
                        in.get("encoder_hidden_states").to(DType.F32, dev), added);
                Tensor loss = Functional.mseLoss(pred, in.get("target").to(DType.F32, dev), Functional.Reduction.MEAN);
                loss.backward();
                res.put("lora_loss", loss.detach().reshape(1).to(DType.F32, Device.CPU));
                res.put("lora_unet_out", pred.detach().to(DType.F32, Device.CPU));
                for (var e : lora.adapters().entrySet()) {
                    res.put(e.getKey() + ".lora_down.grad", e.getValue().down().grad().to(DType.F32, Device.CPU));
                    res.put(e.getKey() + ".lora_up.grad", e.getValue().up().grad().to(DType.F32, Device.CPU));
                }
                Files.createDirectories(out.toAbsolutePath().getParent());
                TensorIO.save(out, res, Map.of("scale", Double.toString(ALPHA / RANK), "rank", Integer.toString(RANK), "device", dev.toString()));
                return lora.size();
            }
        }
    }
}
