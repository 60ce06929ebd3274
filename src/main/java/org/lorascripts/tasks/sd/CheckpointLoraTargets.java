package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.load.LdmNames;
import org.lorascripts.models.sd.load.LdmUnetNames;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * Where each module a kohya LoRA can change lives in an LDM single-file checkpoint: the kohya name (as our
 * trainer and sd-scripts write it: {@code lora_unet_} + diffusers names for SD 1.x / 2.x, + LDM names for SDXL;
 * {@code lora_te_} / {@code lora_te1_} / {@code lora_te2_} + HF CLIP names) and the checkpoint tensor holding the
 * module's weight. OpenCLIP encoders (SD 2.x, SDXL's second) store q, k and v fused in {@code in_proj_weight}:
 * their targets are row ranges of it; SD 2.x's last OpenCLIP layer, which its 23-layer text encoder drops, has none. Modules are kohya's ({@link SdLoraTargets}: UNet transformer blocks, with
 * {@code locon} also resnets and up/down samplers; every linear of the text encoders' attention and MLP).
 */
public final class CheckpointLoraTargets {
    private CheckpointLoraTargets() {}

    /** What the LoRA's module changes: rows [rowStart, rowStart + shape[0]) of tensor {@code key}, of module weight shape {@code shape}. */
    public record Target(String loraName, String key, long rowStart, long[] shape, boolean textEncoder) {
        public boolean conv() { return shape.length == 4; }

        /** A convolution with a kernel larger than 1x1 (kohya's conv_dim applies). */
        public boolean conv3x3() { return shape.length == 4 && (shape[2] != 1 || shape[3] != 1); }
    }

    /** An opened single file: its family and the targets. */
    public record Layout(SdFamily family, UNetConfig unetConfig, List<Target> targets) {}

    /** {@code builtin:tiny-sd} / {@code builtin:tiny-sdxl} → the cached file; other names are paths of single files. */
    public static Path resolve(String checkpoint) throws IOException {
        if (checkpoint.startsWith("builtin:")) {
            return TinySdBuiltin.byName(checkpoint).orElseThrow(() -> new IllegalArgumentException("unknown built-in image model '"
                    + checkpoint + "' (available: " + TinySdBuiltin.choices() + ")")).ensureCached();
        }
        Path p = Path.of(checkpoint);
        if (Files.isDirectory(p)) {
            throw new IllegalArgumentException(checkpoint + " is a folder; this needs an LDM single-file .safetensors checkpoint (SD 1.x, 2.x or SDXL)");
        }
        return p;
    }

    /** Detects the family of a single file (through {@link SdCheckpointLoader}) and lists its targets. */
    public static Layout of(Path file, TensorSource src, boolean locon) throws IOException {
        SdFamily family;
        UNetConfig config;
        try (SdCheckpoint ck = SdCheckpointLoader.open(file)) {
            if (ck.layout() != SdCheckpoint.Layout.LDM_SINGLE_FILE) {
                throw new IllegalArgumentException(file + " is not an LDM single-file checkpoint");
            }
            family = ck.family();
            config = ck.unetConfig();
        }
        return new Layout(family, config, targets(src, family, config, locon));
    }

    static List<Target> targets(TensorSource src, SdFamily family, UNetConfig config, boolean locon) throws IOException {
        LdmUnetNames names = new LdmUnetNames(config);
        Predicate<String> unetTarget = SdLoraTargets.unet(locon);
        List<Target> out = new ArrayList<>();
        for (String key : src.names()) {
            TensorInfo t = src.info(key);
            if (key.startsWith(LdmNames.UNET_PREFIX) && key.endsWith(".weight") && (t.rank() == 2 || t.rank() == 4)) {
                String ldm = key.substring(LdmNames.UNET_PREFIX.length(), key.length() - ".weight".length());
                String diffusers = names.toDiffusers(ldm);
                if (diffusers == null || !unetTarget.test(diffusers)) continue;
                String module = family == SdFamily.SDXL ? ldm : diffusers;
                out.add(new Target(KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_UNET, module), key, 0, t.shape(), false));
                continue;
            }
            if (family == SdFamily.SDXL) {
                hfClip(out, key, t, "conditioner.embedders.0.transformer.", KohyaLoraWriter.PREFIX_TEXT_ENCODER1);
                openClip(out, key, t, "conditioner.embedders.1.model.", KohyaLoraWriter.PREFIX_TEXT_ENCODER2);
            } else {
                hfClip(out, key, t, LdmNames.CLIP_PREFIX, KohyaLoraWriter.PREFIX_TEXT_ENCODER);
                openClip(out, key, t, LdmNames.OPEN_CLIP_PREFIX, KohyaLoraWriter.PREFIX_TEXT_ENCODER);
            }
        }
        if (family == SdFamily.SD2) {
            // SD 2.x conditions on the penultimate layer: its text encoder (ours, diffusers', kohya's) has 23 of OpenCLIP's 24
            // layers, so the last resblock has no LoRA module
            int last = out.stream().filter(t -> t.key().startsWith(LdmNames.OPEN_CLIP_PREFIX + "transformer.resblocks."))
                    .mapToInt(t -> Integer.parseInt(t.key().split("\\.")[4])).max().orElse(-1);
            out.removeIf(t -> t.key().startsWith(LdmNames.OPEN_CLIP_PREFIX + "transformer.resblocks." + last + "."));
        }
        return out;
    }

    private static final List<String> HF_LINEARS = List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
            "mlp.fc1", "mlp.fc2");

    /** {@code <prefix>text_model.encoder.layers.N.<linear>.weight} → {@code <kohya prefix>_text_model_encoder_layers_N_<linear>}. */
    private static void hfClip(List<Target> out, String key, TensorInfo t, String prefix, String kohyaPrefix) {
        if (!key.startsWith(prefix + "text_model.encoder.layers.") || !key.endsWith(".weight") || t.rank() != 2) return;
        String module = key.substring(prefix.length(), key.length() - ".weight".length());
        String[] p = module.split("\\.", 5);   // text_model encoder layers N rest
        if (p.length == 5 && HF_LINEARS.contains(p[4])) out.add(new Target(KohyaLoraWriter.loraName(kohyaPrefix, module), key, 0, t.shape(), true));
    }

    /**
     * OpenCLIP {@code <prefix>transformer.resblocks.N.attn.in_proj_weight} → q/k/v_proj (thirds of its rows),
     * {@code attn.out_proj} → self_attn.out_proj, {@code mlp.c_fc} → mlp.fc1, {@code mlp.c_proj} → mlp.fc2.
     */
    private static void openClip(List<Target> out, String key, TensorInfo t, String prefix, String kohyaPrefix) {
        if (!key.startsWith(prefix + "transformer.resblocks.") || t.rank() != 2) return;
        String[] p = key.substring(prefix.length()).split("\\.", 4);   // transformer resblocks N rest
        if (p.length != 4) return;
        String layer = "text_model.encoder.layers." + p[2] + ".";
        long[] s = t.shape();
        switch (p[3]) {
            case "attn.in_proj_weight" -> {
                long d = s[0] / 3;
                String[] qkv = {"q_proj", "k_proj", "v_proj"};
                for (int i = 0; i < 3; i++) {
                    out.add(new Target(KohyaLoraWriter.loraName(kohyaPrefix, layer + "self_attn." + qkv[i]), key, i * d, new long[] {d, s[1]}, true));
                }
            }
            case "attn.out_proj.weight" -> out.add(new Target(KohyaLoraWriter.loraName(kohyaPrefix, layer + "self_attn.out_proj"), key, 0, s, true));
            case "mlp.c_fc.weight" -> out.add(new Target(KohyaLoraWriter.loraName(kohyaPrefix, layer + "mlp.fc1"), key, 0, s, true));
            case "mlp.c_proj.weight" -> out.add(new Target(KohyaLoraWriter.loraName(kohyaPrefix, layer + "mlp.fc2"), key, 0, s, true));
            default -> { }
        }
    }

    /** kohya's {@code ss_base_model_version} for a family (no v-parameterization: it is not in the weights). */
    public static String baseModelVersion(SdFamily f) {
        return switch (f) {
            case SDXL -> "sdxl_base_v1-0";
            case SD2 -> "sd_v2";
            default -> "sd_v1";
        };
    }
}
