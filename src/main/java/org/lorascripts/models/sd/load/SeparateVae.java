package org.lorascripts.models.sd.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.UnaryOperator;
import org.lorascripts.io.Json;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * A VAE used instead of the checkpoint's (config key {@code vae}), typically the fp16-fix SDXL VAE,
 * which runs in fp16 where SDXL's own overflows. Accepted: a diffusers {@code vae/} folder (or a model
 * folder holding one), or one {@code .safetensors} named as diffusers does ({@code encoder.down_blocks.*}),
 * as an LDM checkpoint does ({@code first_stage_model.encoder.down.*}) or as a bare LDM VAE
 * ({@code encoder.down.*}, e.g. {@code sdxl_vae.safetensors}). A single file carries no config: its
 * architecture and scaling factor are the checkpoint's (metadata {@code vae_config} wins), as every
 * replacement VAE of SD and SDXL keeps them.
 *
 * @param source      the opened file, to close with the checkpoint
 * @param description for {@link SdCheckpoint#notes()}
 */
record SeparateVae(VaeConfig config, WeightSource weights, TensorSource source, String description) {

    static SeparateVae open(Path path, VaeConfig checkpointVae) throws IOException {
        String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
        if (Files.isDirectory(path)) {
            Path dir = Files.isRegularFile(path.resolve("config.json")) ? path : path.resolve("vae");
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalArgumentException("vae " + path + ": a folder without config.json or vae/config.json; give a diffusers VAE folder or a .safetensors file");
            }
            VaeConfig c = VaeConfig.fromJson(Json.read(dir.resolve("config.json")), name + "/config.json");
            TensorSource src = SdCheckpointLoader.openWeights(dir, "diffusion_pytorch_model", name);
            WeightSource w = new SqueezedWeights(new CheckpointWeights(src, SdCheckpointLoader.deprecatedVaeNames(src), name), LdmNames::isVaeAttentionMatrix);
            return new SeparateVae(c, w, src, "VAE: " + path + " (diffusers folder, scaling factor " + c.scalingFactor() + ") instead of the checkpoint's");
        }
        var pickle = PickleFiles.extension(path);
        if (pickle.isPresent()) throw SdCheckpointLoader.pickleRefusal(path, pickle.get());
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString(), null, "no such VAE file or folder");
        if (!name.toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            throw new IllegalArgumentException("vae " + name + ": not a .safetensors file or a diffusers VAE folder");
        }
        SafetensorsFile file = SafetensorsFile.open(path);
        try {
            VaeConfig c = checkpointVae;
            JsonNode meta = file.metadata().containsKey("vae_config") ? SdCheckpointLoader.parseMeta(file.metadata(), "vae_config", name) : null;
            if (meta != null) c = VaeConfig.fromJson(meta, name + " metadata vae_config");
            VaeConfig config = c;
            String style;
            UnaryOperator<String> names;
            if (file.contains("encoder.down_blocks.0.resnets.0.conv1.weight")) {
                style = "diffusers names";
                names = SdCheckpointLoader.deprecatedVaeNames(file);
            } else {
                String prefix = file.contains(LdmNames.VAE_PREFIX + "encoder.conv_in.weight") ? LdmNames.VAE_PREFIX
                        : file.contains("encoder.conv_in.weight") ? "" : null;
                if (prefix == null) {
                    throw new IllegalArgumentException("vae " + name + ": no VAE tensors (looked for encoder.down_blocks.0.resnets.0.conv1.weight, "
                            + LdmNames.VAE_PREFIX + "encoder.conv_in.weight and encoder.conv_in.weight; " + file.names().size() + " tensors)");
                }
                style = prefix.isEmpty() ? "LDM names" : "LDM names under " + prefix;
                names = n -> {
                    String ldm = LdmNames.vae(n, config);
                    return ldm == null ? null : prefix + ldm;
                };
            }
            WeightSource w = new SqueezedWeights(new CheckpointWeights(file, names, name), LdmNames::isVaeAttentionMatrix);
            return new SeparateVae(config, w, file, "VAE: " + path + " (" + style + ", scaling factor " + config.scalingFactor() + ") instead of the checkpoint's");
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
