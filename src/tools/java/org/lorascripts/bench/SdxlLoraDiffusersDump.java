package org.lorascripts.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.tasks.sd.PipelineLoras;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * For tools/parity/sdxl_diffusers_lora.py: does diffusers' SDXL LoRA loader put our kohya SDXL LoRA on exactly
 * the modules we trained, with the same effect? Writes OUT/unet/ (the base's UNet as a diffusers folder, fp32),
 * OUT/inputs.safetensors (seeded latents, timesteps, context, pooled text, time ids), OUT/ours.safetensors (our
 * UNet output without and with the LoRA attached, the latter as ./lora sample attaches it) and OUT/modules.json
 * (the diffusers names of the UNet modules the LoRA's keys land on in our model).
 * Usage: {@code SdxlLoraDiffusersDump MODEL LORA OUT} (MODEL: an SDXL file or folder, or builtin:tiny-sdxl).
 */
public final class SdxlLoraDiffusersDump {
    private SdxlLoraDiffusersDump() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: SdxlLoraDiffusersDump MODEL LORA OUT");
            System.exit(2);
        }
        Path lora = Path.of(args[1]), out = Path.of(args[2]);
        Files.createDirectories(out.resolve("unet"));
        try (var ng = Autograd.noGrad(); Scope s = Scope.open();
             SdPipeline p = SdPipeline.open(SdPipeline.parseBase(args[0]), null, Device.CPU, DType.F32)) {
            UNet2DConditionModel unet = p.unet();
            TensorIO.save(out.resolve("unet/diffusion_pytorch_model.safetensors"), unet.parameters(), Map.of("format", "pt"));
            Files.writeString(out.resolve("unet/config.json"), unet.config().toDiffusersJson());

            Rng.manualSeed(17);
            long ctx = unet.config().crossAttentionDim(), pooled = unet.config().textTime().inputDim() - AddedConditions.TIME_IDS * unet.config().textTime().timeEmbedDim();
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("latents", Torch.randn(new long[] {2, 4, 8, 8}, DType.F32, Device.CPU));
            in.put("timesteps", Torch.of(new long[] {801, 99}));
            in.put("encoder_hidden_states", Torch.randn(new long[] {2, 77, ctx}, DType.F32, Device.CPU));
            in.put("text_embeds", Torch.randn(new long[] {2, pooled}, DType.F32, Device.CPU));
            in.put("time_ids", Torch.cat(List.of(AddedConditions.timeIds(1, 64, 64, 0, 0, 64, 64), AddedConditions.timeIds(1, 96, 64, 16, 0, 64, 64)), 0));
            TensorIO.save(out.resolve("inputs.safetensors"), in, Map.of());
            AddedConditions added = new AddedConditions(in.get("text_embeds"), in.get("time_ids"));
            Map<String, Tensor> res = new LinkedHashMap<>();
            res.put("unet_base", unet.forward(in.get("latents"), in.get("timesteps"), in.get("encoder_hidden_states"), added));

            Map<String, LoraNetwork> nets = PipelineLoras.load(lora, p);
            try {
                res.put("unet_lora", unet.forward(in.get("latents"), in.get("timesteps"), in.get("encoder_hidden_states"), added));
                TensorIO.save(out.resolve("ours.safetensors"), res, Map.of());
                List<String> modules = nets.get(KohyaLoraWriter.PREFIX_UNET).adapters().keySet().stream().sorted().toList();
                Files.writeString(out.resolve("modules.json"), Json.write(Json.object("unet", modules)));
                System.out.println("wrote " + out + ": " + modules.size() + " UNet modules carry the LoRA");
            } finally {
                nets.values().forEach(LoraNetwork::close);
            }
        }
    }
}
