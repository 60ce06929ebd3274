package org.lorascripts.models.sd.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * Opens SDXL base checkpoints for {@link SdCheckpointLoader}: an LDM single file ({@code model.diffusion_model.*}
 * with {@code label_emb}, {@code conditioner.embedders.0.transformer.*} CLIP-L, {@code conditioner.embedders.1.model.*}
 * OpenCLIP bigG, {@code first_stage_model.*}) or a diffusers folder ({@code unet/}, {@code vae/},
 * {@code text_encoder/}, {@code text_encoder_2/}, {@code tokenizer/}, {@code tokenizer_2/}).
 * The VAE's scaling factor is SDXL's 0.13025 unless a config says otherwise.
 */
final class SdxlCheckpoints {
    private SdxlCheckpoints() {}

    /** SDXL's VAE scaling factor (stable-diffusion-xl-base-1.0 vae/config.json). */
    static final double SDXL_VAE_SCALING_FACTOR = 0.13025;
    /** label_emb input of the refiner: pooled 1280 + 5 time ids of 256 (no target size, an aesthetic score instead). */
    static final int REFINER_ADDED_INPUT = 2560;

    static final String TE1_PREFIX = SdxlTextEncoder.TE1.ldmPrefix, TE2_PREFIX = SdxlTextEncoder.TE2.ldmPrefix;
    static final String REFINER_TE_PREFIX = "conditioner.embedders.0.model.";

    /** Checks an SDXL-looking single file is the complete base model; one-line refusals say what was found or is missing. */
    static void check(TensorSource src, String name, boolean separateVae) {
        String labelEmb = LdmNames.UNET_PREFIX + "label_emb.0.0.weight";
        boolean te1 = anyStartsWith(src, TE1_PREFIX), te2 = anyStartsWith(src, TE2_PREFIX);
        if (!te1 && anyStartsWith(src, REFINER_TE_PREFIX)) {
            String input = src.contains(labelEmb) ? ", " + labelEmb + " input " + new LdmConfigs(src, name).dim(labelEmb, 1) : "";
            throw new UnsupportedOperationException(name + ": looks like the SDXL refiner (found " + REFINER_TE_PREFIX + "*, an OpenCLIP encoder only, no CLIP-L"
                    + input + "); only the SDXL base model is supported");
        }
        if (src.contains(labelEmb) && new LdmConfigs(src, name).dim(labelEmb, 1) == REFINER_ADDED_INPUT) {
            throw new UnsupportedOperationException(name + ": looks like the SDXL refiner (" + labelEmb + " input " + REFINER_ADDED_INPUT
                    + "); only the SDXL base model is supported");
        }
        List<String> missing = new ArrayList<>();
        if (!src.contains(labelEmb)) missing.add(LdmNames.UNET_PREFIX + "label_emb.* (the UNet)");
        if (!te1) missing.add(TE1_PREFIX + "* (text encoder 1)");
        if (!te2) missing.add(TE2_PREFIX + "* (text encoder 2)");
        if (!separateVae && !anyStartsWith(src, LdmNames.VAE_PREFIX)) missing.add(LdmNames.VAE_PREFIX + "* (the VAE; or set vae)");
        if (!missing.isEmpty()) {
            throw new UnsupportedOperationException(name + ": looks like SDXL but has no " + String.join(", no ", missing)
                    + "; give a complete SDXL base checkpoint (UNet, both text encoders, VAE)");
        }
    }

    static SdCheckpoint openSingleFile(SafetensorsFile file, String name, UNetConfig.Prediction pred, LdmSidecar yaml, Path separateVae) throws IOException {
        check(file, name, separateVae != null);
        Map<String, String> meta = file.metadata();
        LdmConfigs infer = new LdmConfigs(file, name);
        List<String> notes = new ArrayList<>();
        UNetConfig unet = meta.containsKey("unet_config")
                ? UNetConfig.fromJson(SdCheckpointLoader.parseMeta(meta, "unet_config", name), name + " metadata unet_config", pred)
                : infer.sdxlUnet(pred, yaml, notes);
        if (unet.textTime() == null) throw new IllegalArgumentException(name + ": metadata unet_config has no addition_embed_type text_time; not an SDXL UNet config");
        VaeConfig vae = meta.containsKey("vae_config")
                ? VaeConfig.fromJson(SdCheckpointLoader.parseMeta(meta, "vae_config", name), name + " metadata vae_config")
                : anyStartsWith(file, LdmNames.VAE_PREFIX) ? infer.vae(yaml, notes, SDXL_VAE_SCALING_FACTOR) : null;
        LdmUnetNames names = new LdmUnetNames(unet);
        WeightSource unetW = new CheckpointWeights(file, n -> {
            String ldm = names.toLdm(n);
            return ldm == null ? null : LdmNames.UNET_PREFIX + ldm;
        }, name + " (UNet)");
        VaeConfig vc = vae;
        WeightSource vaeW = vae == null ? null : new SqueezedWeights(new CheckpointWeights(file, n -> {
            String ldm = LdmNames.vae(n, vc);
            return ldm == null ? null : LdmNames.VAE_PREFIX + ldm;
        }, name + " (VAE)"), LdmNames::isVaeAttentionMatrix);
        TextEncoderSlot te1 = new TextEncoderSlot(SdFamily.SDXL, TextEncoderSlot.Layout.HF_CLIP, file, TE1_PREFIX, null, null,
                name + " (" + SdxlTextEncoder.TE1.displayName + ")", SdxlTextEncoder.TE1);
        TextEncoderSlot te2 = new TextEncoderSlot(SdFamily.SDXL, TextEncoderSlot.Layout.OPEN_CLIP, file, TE2_PREFIX, null, null,
                name + " (" + SdxlTextEncoder.TE2.displayName + ")", SdxlTextEncoder.TE2);
        if (yaml != null) notes.addFirst("LDM config " + yaml.file() + " read");
        return finish(name, SdCheckpoint.Layout.LDM_SINGLE_FILE, unet, vae, unetW, vaeW, te1, te2, null, new ArrayList<>(List.of(file)), notes, separateVae);
    }

    /** @param unetJson unet/config.json, already read (it told SDXL apart) */
    static SdCheckpoint openDiffusers(Path dir, String label, UNetConfig.Prediction pred, JsonNode unetJson, Path separateVae) throws IOException {
        boolean te1 = Files.isRegularFile(dir.resolve("text_encoder/config.json")), te2 = Files.isRegularFile(dir.resolve("text_encoder_2/config.json"));
        UNetConfig unet = UNetConfig.fromJson(unetJson, label + "/unet/config.json", pred);
        if (!te1 && te2 || unet.textTime() != null && unet.textTime().inputDim() == REFINER_ADDED_INPUT) {
            throw new UnsupportedOperationException(label + ": looks like the SDXL refiner (text_encoder_2/ " + (te1 ? "and text_encoder/" : "without text_encoder/")
                    + (unet.textTime() != null ? ", added condition input " + unet.textTime().inputDim() : "") + "); only the SDXL base model is supported");
        }
        if (unet.textTime() == null) {
            throw new UnsupportedOperationException(label + "/unet/config.json: has no addition_embed_type text_time but the folder has text_encoder_2/; not an SDXL base UNet");
        }
        if (!te1 || !te2) throw new IllegalArgumentException(label + ": text_encoder/config.json or text_encoder_2/config.json is missing; SDXL needs both text encoders");
        Path vaeDir = dir.resolve("vae");
        boolean ownVae = Files.isRegularFile(vaeDir.resolve("config.json"));
        if (!ownVae && separateVae == null) throw new IllegalArgumentException(label + ": vae/config.json is missing");
        VaeConfig vae = ownVae ? VaeConfig.fromJson(Json.read(vaeDir.resolve("config.json")), label + "/vae/config.json") : null;
        List<TensorSource> opened = new ArrayList<>();
        try {
            TensorSource unetSrc = SdCheckpointLoader.openWeights(dir.resolve("unet"), "diffusion_pytorch_model", label + "/unet");
            opened.add(unetSrc);
            WeightSource vaeW = null;
            if (ownVae) {
                TensorSource vaeSrc = SdCheckpointLoader.openWeights(vaeDir, "diffusion_pytorch_model", label + "/vae");
                opened.add(vaeSrc);
                vaeW = new SqueezedWeights(new CheckpointWeights(vaeSrc, SdCheckpointLoader.deprecatedVaeNames(vaeSrc), label + "/vae"), LdmNames::isVaeAttentionMatrix);
            }
            TextEncoderSlot[] slots = new TextEncoderSlot[2];
            for (SdxlTextEncoder which : SdxlTextEncoder.values()) {
                Path teDir = dir.resolve(which.folder), tok = dir.resolve(which.tokenizerFolder);
                TensorSource src = SdCheckpointLoader.openWeights(teDir, "model", label + "/" + which.folder);
                opened.add(src);
                slots[which.ordinal()] = new TextEncoderSlot(SdFamily.SDXL, TextEncoderSlot.Layout.HF_CLIP, src, "", Json.read(teDir.resolve("config.json")),
                        Files.isDirectory(tok) ? tok : null, label + "/" + which.folder, which);
            }
            return finish(label, SdCheckpoint.Layout.DIFFUSERS, unet, vae, new CheckpointWeights(unetSrc, label + "/unet"), vaeW, slots[0], slots[1], dir,
                    opened, new ArrayList<>(), separateVae);
        } catch (RuntimeException | IOException e) {
            for (TensorSource s : opened) s.close();
            throw e;
        }
    }

    private static SdCheckpoint finish(String label, SdCheckpoint.Layout layout, UNetConfig unet, VaeConfig vae, WeightSource unetW, WeightSource vaeW,
                                       TextEncoderSlot te1, TextEncoderSlot te2, Path folder, List<TensorSource> sources, List<String> notes,
                                       Path separateVae) throws IOException {
        if (separateVae != null) {
            SeparateVae sep = SeparateVae.open(separateVae, vae != null ? vae : defaultVae());
            sources.add(sep.source());
            vae = sep.config();
            vaeW = sep.weights();
            notes.add(sep.description());
        } else {
            notes.add("VAE: the checkpoint's (scaling factor " + vae.scalingFactor() + "), run in fp32: SDXL's VAE overflows in fp16; a separate fp16-fix VAE can be set with vae");
        }
        return new SdCheckpoint(label, layout, SdFamily.SDXL, unet, vae, unetW, vaeW, te1, n -> null, te2, folder, sources, notes);
    }

    /** SDXL's VAE: SD's architecture with SDXL's scaling factor (for a separate VAE file when the checkpoint has none). */
    static VaeConfig defaultVae() {
        VaeConfig sd = VaeConfig.sd();
        return new VaeConfig(sd.inChannels(), sd.outChannels(), sd.latentChannels(), sd.blockOutChannels(), sd.layersPerBlock(), sd.normNumGroups(),
                1024, SDXL_VAE_SCALING_FACTOR);
    }

    static boolean anyStartsWith(TensorSource src, String prefix) {
        for (String n : src.names()) if (n.startsWith(prefix)) return true;
        return false;
    }
}
