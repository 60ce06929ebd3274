package org.lorascripts.models.sd.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.lorascripts.io.Json;
import org.lorascripts.io.JsonFields;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextWeights;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * Opens SD 1.x / 2.x and SDXL base checkpoints ({@link SdxlCheckpoints}): a diffusers folder ({@code unet/}, {@code vae/}, {@code text_encoder/},
 * {@code scheduler/}) or an LDM single-file {@code .safetensors} ({@code model.diffusion_model.*},
 * {@code first_stage_model.*}, {@code cond_stage_model.*}; EMA copies ignored). The architecture is
 * detected from tensor names and shapes; the SDXL refiner, SD3, Flux and other models fail with what was found. Pickle files
 * ({@link PickleFiles}: {@code .ckpt}, {@code .pt}, {@code .bin}, ...) are refused, never unpickled.
 *
 * <p>v-prediction (SD 2.x 768 models) cannot be seen in the weights: it comes from the diffusers
 * scheduler config, from {@code prediction} here, else epsilon.
 *
 * <p>A single file may embed its diffusers configs as safetensors metadata ({@code unet_config},
 * {@code vae_config}, {@code text_encoder_config}: the JSON of the matching config.json); the built-in
 * tiny model does, since its head count and norm groups are not the SD ones.
 */
public final class SdCheckpointLoader {
    private SdCheckpointLoader() {}

    public static final String BUILTIN_TINY = "builtin:tiny-sd";

    /** Opens with the prediction type from the checkpoint (diffusers scheduler config), else epsilon. */
    public static SdCheckpoint open(Path path) throws IOException { return open(path, null); }

    /** @param prediction overrides the checkpoint's prediction type when not null (needed for SD 2.x 768-v single files) */
    public static SdCheckpoint open(Path path, UNetConfig.Prediction prediction) throws IOException { return open(path, prediction, null); }

    /** @param ldmYaml a single file's LDM config; null = the {@code .yaml} beside the file, if any */
    public static SdCheckpoint open(Path path, UNetConfig.Prediction prediction, Path ldmYaml) throws IOException {
        return open(path, prediction, ldmYaml, null);
    }

    /**
     * @param vae a VAE used instead of the checkpoint's ({@link SeparateVae}: a diffusers {@code vae/} folder or a
     *            {@code .safetensors} with diffusers or LDM names); null = the checkpoint's
     */
    public static SdCheckpoint open(Path path, UNetConfig.Prediction prediction, Path ldmYaml, Path vae) throws IOException {
        if (Files.isDirectory(path)) return openDiffusers(path, prediction, vae);
        String name = path.getFileName().toString();
        String lower = name.toLowerCase(Locale.ROOT);
        var pickle = PickleFiles.extension(path);
        if (pickle.isPresent()) throw pickleRefusal(path, pickle.get());
        if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString(), null, "no such checkpoint file or folder");
        if (!lower.endsWith(".safetensors")) {
            throw new IllegalArgumentException(name + ": not a .safetensors file or a diffusers folder; give an SD 1.x/2.x or SDXL single-file .safetensors checkpoint or a diffusers model folder");
        }
        return openSingleFile(path, prediction, ldmYaml, vae);
    }

    /** {@code builtin:tiny-sd} or {@code builtin:tiny-sdxl}: a pretrained demo model, copied from the jar into the cache on first use. */
    public static SdCheckpoint openBuiltin(String name) throws IOException {
        TinySdBuiltin m = TinySdBuiltin.byName(name).orElseThrow(() ->
                new IllegalArgumentException("unknown built-in image model '" + name + "' (available: " + TinySdBuiltin.choices() + ")"));
        return open(m.ensureCached());
    }

    static IllegalArgumentException pickleRefusal(Path path, String ext) {
        String name = path.getFileName().toString();
        return new IllegalArgumentException(PickleFiles.refusal(name, ext, "with diffusers' scripts/convert_original_stable_diffusion_to_diffusers.py "
                + "--checkpoint_path " + name + " --to_safetensors --dump_path OUT_DIR (gives a diffusers folder), or in AUTOMATIC1111's "
                + "Checkpoint Merger with checkpoint format \"safetensors\""));
    }

    // ---- LDM single file ----

    /**
     * @param ldmYaml the checkpoint's LDM config; null = the {@code .yaml} with the checkpoint's name beside it, if there is one
     */
    static SdCheckpoint openSingleFile(Path path, UNetConfig.Prediction prediction, Path ldmYaml, Path separateVae) throws IOException {
        String name = path.getFileName().toString();
        Path yamlFile = ldmYaml != null ? ldmYaml : LdmSidecar.besides(path);
        if (ldmYaml != null && !Files.isRegularFile(ldmYaml)) throw new java.nio.file.NoSuchFileException(ldmYaml.toString(), null, "no such LDM config file");
        LdmSidecar yaml = Files.isRegularFile(yamlFile) ? LdmSidecar.read(yamlFile) : null;
        SafetensorsFile file = SafetensorsFile.open(path);
        try {
            SdFamily family = detectSingleFile(file, name);
            Map<String, String> meta = file.metadata();
            UNetConfig.Prediction pred = prediction != null ? prediction
                    : yaml != null && Boolean.TRUE.equals(yaml.vPrediction()) ? UNetConfig.Prediction.V_PREDICTION : UNetConfig.Prediction.EPSILON;
            if (family == SdFamily.SDXL) return SdxlCheckpoints.openSingleFile(file, name, pred, yaml, separateVae);
            LdmConfigs infer = new LdmConfigs(file, name);
            List<String> notes = new ArrayList<>();
            UNetConfig unet = meta.containsKey("unet_config")
                    ? UNetConfig.fromJson(parseMeta(meta, "unet_config", name), name + " metadata unet_config", pred)
                    : infer.unet(family, pred, yaml, notes);
            VaeConfig vae = meta.containsKey("vae_config")
                    ? VaeConfig.fromJson(parseMeta(meta, "vae_config", name), name + " metadata vae_config")
                    : infer.vae(yaml, notes);
            WeightSource unetW = new CheckpointWeights(file, n -> prefixed(LdmNames.UNET_PREFIX, LdmNames.unet(n, unet)), name + " (UNet)");
            WeightSource vaeW = new SqueezedWeights(
                    new CheckpointWeights(file, n -> prefixed(LdmNames.VAE_PREFIX, LdmNames.vae(n, vae)), name + " (VAE)"),
                    LdmNames::isVaeAttentionMatrix);
            TextEncoderSlot te = null;
            JsonNode teConfig = meta.containsKey("text_encoder_config") ? parseMeta(meta, "text_encoder_config", name) : null;
            if (anyStartsWith(file, LdmNames.CLIP_PREFIX)) {
                te = new TextEncoderSlot(family, TextEncoderSlot.Layout.HF_CLIP, file, LdmNames.CLIP_PREFIX, teConfig, null, name + " (text encoder)");
            } else if (anyStartsWith(file, LdmNames.OPEN_CLIP_PREFIX)) {
                te = new TextEncoderSlot(family, TextEncoderSlot.Layout.OPEN_CLIP, file, LdmNames.OPEN_CLIP_PREFIX, teConfig, null, name + " (text encoder)");
            }
            TextEncoderSlot slot = te;
            java.util.function.Function<List<String>, ClipTextConfig> textConfig = teConfig != null
                    ? n -> ClipTextConfig.fromHfConfig(teConfig, name + " metadata text_encoder_config")
                    : n -> infer.text(hfTextWeights(slot), family, slot.layout(), yaml, n);
            if (yaml != null) notes.addFirst("LDM config " + yaml.file() + " read");
            List<TensorSource> sources = new ArrayList<>(List.of(file));
            SeparateVae sep = separateVae == null ? null : SeparateVae.open(separateVae, vae);
            if (sep != null) {
                sources.add(sep.source());
                notes.add(sep.description());
            }
            return new SdCheckpoint(name, SdCheckpoint.Layout.LDM_SINGLE_FILE, family, unet, sep != null ? sep.config() : vae,
                    unetW, sep != null ? sep.weights() : vaeW, te, textConfig, sources, notes);
        } catch (RuntimeException | IOException e) {
            file.close();
            throw e;
        }
    }

    /** The slot's text-encoder tensors under transformers' CLIPTextModel names. */
    public static WeightSource hfTextWeights(TextEncoderSlot slot) {
        return slot.layout() == TextEncoderSlot.Layout.OPEN_CLIP
                ? ClipTextWeights.openClip(slot.source(), slot.prefix(), slot.label())
                : ClipTextWeights.ldm(slot.source(), slot.prefix(), slot.label());
    }

    /**
     * For {@code lora info}: what model an LDM single file holds ("Stable Diffusion XL"), why it cannot be
     * opened when it looks like a checkpoint this loader refuses (SD3, Flux, the SDXL refiner), or empty
     * for anything else (LoRA files, other tensors).
     */
    public static java.util.Optional<String> describe(TensorSource src, String name) {
        try {
            SdFamily family = detectSingleFile(src, name);
            if (family == SdFamily.SDXL) SdxlCheckpoints.check(src, name, false);
            return java.util.Optional.of(family.displayName);
        } catch (UnsupportedOperationException e) {
            String m = e.getMessage();
            return java.util.Optional.of(m.startsWith(name + ": ") ? m.substring(name.length() + 2) : m);
        } catch (RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    /** The family of an LDM single file, or a clear error naming what was found. */
    static SdFamily detectSingleFile(TensorSource src, String name) {
        String sd3 = firstWithPrefix(src, LdmNames.UNET_PREFIX + "joint_blocks.");
        if (sd3 == null) sd3 = firstWithPrefix(src, "text_encoders.");
        if (sd3 != null) throw notSupported(name, "SD3", group(sd3, sd3.startsWith("model.") ? 3 : 1), "SD3 LoRA training");
        String flux = null;
        for (String p : List.of(LdmNames.UNET_PREFIX + "double_blocks.", "double_blocks.", LdmNames.UNET_PREFIX + "single_blocks.", "single_blocks.")) {
            if (flux == null) flux = firstWithPrefix(src, p);
        }
        if (flux != null) throw notSupported(name, "Flux", group(flux, flux.startsWith("model.") ? 3 : 1), "Flux LoRA training");
        // SDXL (base or refiner): SdxlCheckpoints says which, or what is missing
        if (src.contains(LdmNames.UNET_PREFIX + "label_emb.0.0.weight") || anyStartsWith(src, "conditioner.embedders.")) return SdFamily.SDXL;
        if (!src.contains(LdmNames.UNET_PREFIX + "input_blocks.0.0.weight")) {
            List<String> names = src.names();
            List<String> some = names.subList(0, Math.min(3, names.size()));
            throw new IllegalArgumentException(name + ": unknown checkpoint layout: no " + LdmNames.UNET_PREFIX + "input_blocks.* tensors (" + names.size()
                    + " tensors, e.g. " + String.join(", ", some) + "); expected a Stable Diffusion 1.x/2.x single-file checkpoint or a diffusers folder");
        }
        LdmConfigs shapes = new LdmConfigs(src, name);
        long inChannels = shapes.shape(LdmNames.UNET_PREFIX + "input_blocks.0.0.weight")[1];
        if (inChannels != 4) {
            String kind = switch ((int) inChannels) {
                case 9 -> "an inpainting model";
                case 8 -> "an instruct-pix2pix model";
                case 5 -> "a depth-conditioned model";
                case 7 -> "an upscaler";
                default -> "not a text-to-image model";
            };
            throw new UnsupportedOperationException(name + ": the UNet takes " + inChannels + " input channels (" + kind + ", "
                    + LdmNames.UNET_PREFIX + "input_blocks.0.0.weight); only 4-channel text-to-image SD 1.x/2.x models are supported yet:"
                    + " train on the base model it was made from");
        }
        int ctx = shapes.contextDim();
        boolean clip = anyStartsWith(src, LdmNames.CLIP_PREFIX), openClip = anyStartsWith(src, LdmNames.OPEN_CLIP_PREFIX);
        if (ctx == 1024 || (openClip && ctx != 768)) return SdFamily.SD2;
        if (ctx == 768 || clip) return SdFamily.SD1;
        throw new UnsupportedOperationException(name + ": the UNet's cross-attention width is " + ctx
                + " and there is no known text encoder (" + LdmNames.CLIP_PREFIX + "* or " + LdmNames.OPEN_CLIP_PREFIX + "*); not an SD 1.x/2.x checkpoint");
    }

    private static UnsupportedOperationException notSupported(String file, String what, String found, String feature) {
        return new UnsupportedOperationException(file + ": looks like " + what + " (found " + found + "); " + feature + " is not supported yet");
    }

    /** {@code a.b.c.d.e} → {@code a.b.c.d.*} (the first {@code parts} components). */
    private static String group(String key, int parts) {
        String[] p = key.split("\\.");
        if (p.length <= parts) return key;
        return String.join(".", java.util.Arrays.copyOf(p, parts)) + ".*";
    }

    private static String firstWithPrefix(TensorSource src, String prefix) {
        String best = null;
        for (String n : src.names()) if (n.startsWith(prefix) && (best == null || n.compareTo(best) < 0)) best = n;
        return best;
    }

    private static boolean anyStartsWith(TensorSource src, String prefix) { return firstWithPrefix(src, prefix) != null; }

    private static String prefixed(String prefix, String name) { return name == null ? null : prefix + name; }

    static JsonNode parseMeta(Map<String, String> meta, String key, String file) {
        try {
            return Json.parse(meta.get(key));
        } catch (Json.Malformed e) {
            throw new IllegalArgumentException(file + ": metadata " + key + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    // ---- diffusers folder ----

    static SdCheckpoint openDiffusers(Path dir, UNetConfig.Prediction prediction, Path separateVae) throws IOException {
        String label = dir.getFileName() == null ? dir.toString() : dir.getFileName().toString();
        Path unetDir = dir.resolve("unet"), vaeDir = dir.resolve("vae");
        if (Files.isDirectory(dir.resolve("transformer"))) {
            throw new UnsupportedOperationException(label + ": a diffusers folder with transformer/ (SD3, Flux or another DiT model); only SD 1.x/2.x and SDXL UNet models are supported");
        }
        if (!Files.isRegularFile(unetDir.resolve("config.json"))) {
            throw new IllegalArgumentException(label + ": unknown checkpoint layout: a folder without unet/config.json; expected a diffusers Stable Diffusion folder "
                    + "(model_index.json, unet/, vae/, text_encoder/, scheduler/)");
        }
        boolean sdxlFolder = Files.isDirectory(dir.resolve("text_encoder_2")) || Files.isDirectory(dir.resolve("tokenizer_2"));
        if (!sdxlFolder && !Files.isRegularFile(vaeDir.resolve("config.json"))) throw new IllegalArgumentException(label + ": vae/config.json is missing");
        UNetConfig.Prediction pred = prediction;
        Path sched = dir.resolve("scheduler").resolve("scheduler_config.json");
        if (pred == null && Files.isRegularFile(sched)) {
            String p = JsonFields.of(Json.read(sched), label + "/scheduler/scheduler_config.json").string("prediction_type", "epsilon");
            pred = UNetConfig.Prediction.parse(p, label + "/scheduler/scheduler_config.json");
        }
        if (pred == null) pred = UNetConfig.Prediction.EPSILON;
        JsonNode unetJson = Json.read(unetDir.resolve("config.json"));
        String added = JsonFields.of(unetJson, label + "/unet/config.json").string("addition_embed_type", null);
        if (sdxlFolder || added != null) return SdxlCheckpoints.openDiffusers(dir, label, pred, unetJson, separateVae);
        UNetConfig unet = UNetConfig.fromJson(unetJson, label + "/unet/config.json", pred);
        VaeConfig vae = VaeConfig.fromJson(Json.read(vaeDir.resolve("config.json")), label + "/vae/config.json");
        Path teDir = dir.resolve("text_encoder");
        JsonNode teConfig = Files.isRegularFile(teDir.resolve("config.json")) ? Json.read(teDir.resolve("config.json")) : null;
        SdFamily family = unet.crossAttentionDim() == 1024 || isOpenClip(teConfig, label + "/text_encoder/config.json") ? SdFamily.SD2 : SdFamily.SD1;
        List<TensorSource> opened = new ArrayList<>();
        try {
            TensorSource unetSrc = openWeights(unetDir, "diffusion_pytorch_model", label + "/unet");
            opened.add(unetSrc);
            TensorSource vaeSrc = openWeights(vaeDir, "diffusion_pytorch_model", label + "/vae");
            opened.add(vaeSrc);
            WeightSource unetW = new CheckpointWeights(unetSrc, label + "/unet");
            WeightSource vaeW = new SqueezedWeights(new CheckpointWeights(vaeSrc, deprecatedVaeNames(vaeSrc), label + "/vae"), LdmNames::isVaeAttentionMatrix);
            TextEncoderSlot te = null;
            if (teConfig != null) {
                TensorSource teSrc = openWeights(teDir, "model", label + "/text_encoder");
                opened.add(teSrc);
                Path tok = dir.resolve("tokenizer");
                te = new TextEncoderSlot(family, TextEncoderSlot.Layout.HF_CLIP, teSrc, "", teConfig,
                        Files.isDirectory(tok) ? tok : null, label + "/text_encoder");
            }
            List<String> notes = new ArrayList<>();
            SeparateVae sep = separateVae == null ? null : SeparateVae.open(separateVae, vae);
            if (sep != null) {
                opened.add(sep.source());
                notes.add(sep.description());
            }
            return new SdCheckpoint(label, SdCheckpoint.Layout.DIFFUSERS, family, unet, sep != null ? sep.config() : vae, unetW,
                    sep != null ? sep.weights() : vaeW, te,
                    n -> ClipTextConfig.fromHfConfig(teConfig, label + "/text_encoder/config.json"), opened, notes);
        } catch (RuntimeException | IOException e) {
            for (TensorSource s : opened) s.close();
            throw e;
        }
    }

    /**
     * An OpenCLIP text tower converted to CLIPTextModel (SD 2.x) uses exact GELU; OpenAI's CLIP (SD 1.x)
     * quick_gelu. This tells SD 2.x apart when the width does not (fine-tunes and test models
     * narrower than 1024), so that the family's tokenizer padding and LoRA metadata follow.
     */
    private static boolean isOpenClip(JsonNode textEncoderConfig, String file) {
        if (textEncoderConfig == null) return false;
        return "gelu".equals(JsonFields.of(textEncoderConfig, file).string("hidden_act", "quick_gelu"));
    }

    /** Older diffusers VAEs name the mid-block attention query/key/value/proj_attn (diffusers converts them on load). */
    static UnaryOperator<String> deprecatedVaeNames(TensorSource src) {
        return n -> {
            if (src.contains(n) || !n.contains("mid_block.attentions.0.")) return n;
            String old = n.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.").replace(".to_out.0.", ".proj_attn.");
            return src.contains(old) ? old : n;
        };
    }

    /** {@code base.safetensors}, {@code base.fp16.safetensors} or their sharded index; pickles refused. */
    static TensorSource openWeights(Path dir, String base, String label) throws IOException {
        for (String f : List.of(base + ".safetensors", base + ".fp16.safetensors", base + ".safetensors.index.json", base + ".fp16.safetensors.index.json")) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) return TensorSource.open(p);
        }
        // transformers names its pickles pytorch_model.bin where the safetensors file is model.safetensors
        String stem = "model".equals(base) ? "pytorch_model" : base;
        for (String ext : PickleFiles.EXTENSIONS) {
            for (String variant : List.of("", ".fp16")) {
                Path p = dir.resolve(stem + variant + ext);
                if (Files.isRegularFile(p)) {
                    throw new IllegalArgumentException(PickleFiles.refusal(label + "/" + p.getFileName(), ext, "re-save the folder with diffusers:"
                            + " DiffusionPipeline.from_pretrained(DIR).save_pretrained(OUT_DIR, safe_serialization=True)"));
                }
            }
        }
        throw new IllegalArgumentException(label + ": no " + base + ".safetensors (or .fp16.safetensors, or a sharded .safetensors.index.json)");
    }
}
