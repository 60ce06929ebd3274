package org.lorascripts.cli;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.LoadedConfig;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.HalfFloats;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.lora.PeftTargets;
import org.lorascripts.models.llm.LlmModelFolder;

/**
 * Checks the model inputs a config names before anything trains, in the dry run and in a real
 * run alike, so that a wrong path or a LoRA for another model fails in a second rather than after
 * the data is cached and the model loaded. Only file names and safetensors headers are read (no
 * weights, no libtorch), so the dry run stays fast and works where libtorch is missing.
 * <ul>
 * <li>base_model: exists; a single file is a readable .safetensors; a folder holds .safetensors
 *     weights (pickles are refused, with how to convert);</li>
 * <li>text-generation: target_modules match a linear layer of the model (the layer names come from
 *     the weights' tensor names); a network_weights PEFT adapter adapts layers the model has, with
 *     fitting shapes;</li>
 * <li>image-generation: a network_weights kohya LoRA is plain LoRA whose rank, alpha and parts
 *     (text encoder, 3x3 convolutions) this config trains. Whether its module names exist in the
 *     UNet is left to the trainer: that needs the model's module tree, which is built by loading it.</li>
 * </ul>
 * Each problem is one line naming the config line of the key it is about.
 */
final class ModelInputCheck {
    /** A PEFT adapter key, as {@code PeftAdapterReader} reads it. */
    private static final Pattern PEFT_KEY = Pattern.compile("^(?:base_model\\.model\\.)?(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight$");
    private static final List<String> KOHYA_SUFFIXES = List.of("lora_down.weight", "lora_up.weight", "alpha", "dora_scale");

    private final LoadedConfig loaded;
    private final TrainConfig c;
    private final List<String> problems = new ArrayList<>();
    private final List<ConfigWarning> warnings = new ArrayList<>();

    record Result(List<String> problems, List<ConfigWarning> warnings) {}

    private ModelInputCheck(LoadedConfig loaded) {
        this.loaded = loaded;
        this.c = loaded.config();
    }

    static Result check(LoadedConfig loaded) {
        ModelInputCheck check = new ModelInputCheck(loaded);
        check.run();
        return new Result(List.copyOf(check.problems), List.copyOf(check.warnings));
    }

    private void run() {
        boolean baseOk = true;
        if (c.model().baseModel() instanceof BaseModel.Local local && !Files.exists(local.path())) {
            problem("base_model", "base_model " + local.path() + " does not exist; download the model there or fix the path");
            baseOk = false;
        }
        Path weights = c.model().networkWeights().orElse(null);
        boolean weightsOk = weights == null || Files.exists(weights);
        if (!weightsOk) problem("network_weights", "network_weights " + weights + " does not exist");
        try {
            if (c.isImage()) {
                if (baseOk) imageBase();
                if (weights != null && weightsOk) kohyaWeights(weights);
            } else if (baseOk) {
                textModel(weightsOk ? weights : null);
            }
        } catch (IOException | RuntimeException e) {
            // what cannot be read here cannot be loaded by the trainer either
            problem("base_model", "cannot read the model files of base_model " + c.model().baseModel() + " (" + e.getMessage() + ")");
        }
    }

    private void problem(String key, String message) {
        problems.add(loaded.values().origin(key) + ": " + message);
    }

    // ---- image-generation

    private void imageBase() throws IOException {
        if (!(c.model().baseModel() instanceof BaseModel.Local local)) return;
        Path p = local.path();
        if (Files.isDirectory(p)) {
            Path unet = p.resolve("unet");
            if (!Files.isRegularFile(unet.resolve("config.json"))) {
                problem("base_model", "base_model " + p + " is not a diffusers Stable Diffusion folder (no unet/config.json);"
                        + " give the folder that holds model_index.json, unet/, vae/, text_encoder/, or a single .safetensors file");
            } else if (safetensorsIn(unet).isEmpty() && !picklesIn(unet).isEmpty()) {
                problem("base_model", "base_model " + p + " has only pickle weights (" + picklesIn(unet).getFirst() + "), which"
                        + " lora-scripts never loads (unpickling can run code); re-save it once with diffusers:"
                        + " DiffusionPipeline.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
            }
        } else if (!p.getFileName().toString().endsWith(".safetensors")) {
            problem("base_model", "base_model " + p + " is not a .safetensors file or a diffusers folder");
        } else {
            try (TensorSource src = TensorSource.open(p)) {
                src.names();
            } catch (IOException | RuntimeException e) {
                problem("base_model", "base_model " + p + " is not a readable safetensors file (" + e.getMessage() + ")");
            }
        }
    }

    /**
     * A kohya LoRA to continue: the trainer requires every module of the file to be one it trains,
     * with the same rank and alpha; what can be seen from the header is checked here.
     */
    private void kohyaWeights(Path file) throws IOException {
        if (Files.isDirectory(file) || !file.getFileName().toString().endsWith(".safetensors")) {
            problem("network_weights", "network_weights " + file + " must be a kohya LoRA .safetensors file for image-generation");
            return;
        }
        TrainConfig.Lora l = c.lora();
        List<String> te = new ArrayList<>(), conv = new ArrayList<>(), rank = new ArrayList<>(), other = new ArrayList<>();
        int modules = 0, doras = 0;
        try (TensorSource src = TensorSource.open(file)) {
            for (String key : src.names()) {
                int dot = key.indexOf('.');
                if (dot < 0 || !KOHYA_SUFFIXES.contains(key.substring(dot + 1))) {
                    other.add(key);
                    continue;
                }
                if (key.endsWith(".dora_scale")) doras++;
                if (!key.endsWith(".lora_down.weight")) continue;
                modules++;
                String name = key.substring(0, dot);
                long[] down = src.info(key).shape();
                boolean conv3x3 = down.length == 4 && (down[2] > 1 || down[3] > 1);
                if (name.startsWith("lora_te") && !l.trainTextEncoder()) te.add(name);
                if (conv3x3 && l.convRank() == 0) conv.add(name);
                int wantRank = conv3x3 ? l.convRank() : l.rank();
                double wantAlpha = conv3x3 ? l.convAlpha() : l.alpha();
                double alpha = src.contains(name + ".alpha") ? scalar(src, name + ".alpha") : down[0];
                boolean alphaDiffers = !Double.isNaN(alpha) && Math.abs(alpha - wantAlpha) > 1e-6 * Math.max(1, Math.abs(wantAlpha));
                if ((wantRank > 0 && down[0] != wantRank) || (wantRank > 0 && alphaDiffers)) {
                    rank.add(name + " has rank " + down[0] + " and alpha " + trim(alpha) + ", but this config trains rank " + wantRank
                            + " and alpha " + trim(wantAlpha) + "; set " + (conv3x3 ? "conv_rank: " + down[0] + " and conv_alpha: "
                            : "lora_rank: " + down[0] + " and lora_alpha: ") + trim(alpha));
                }
            }
        } catch (IOException | RuntimeException e) {
            problem("network_weights", "network_weights " + file + " is not a readable safetensors file (" + e.getMessage() + ")");
            return;
        }
        String f = "network_weights " + file;
        if (!other.isEmpty()) {
            problem("network_weights", f + " has " + other.size() + " keys that are not plain LoRA or DoRA (lora_down/lora_up/alpha/dora_scale), e.g. "
                    + other.getFirst() + "; LyCORIS (LoHa, LoKr) and other network types are not supported");
        } else if (modules == 0) {
            problem("network_weights", f + " holds no LoRA modules");
        }
        if (!te.isEmpty()) {
            problem("network_weights", f + " has " + te.size() + " text-encoder modules (e.g. " + te.getFirst()
                    + "); set train_text_encoder: true to continue them");
        }
        if (!conv.isEmpty()) {
            problem("network_weights", f + " is a LoCon (" + conv.size() + " 3x3 convolution modules, e.g. " + conv.getFirst()
                    + "); set conv_rank (and conv_alpha) to continue it");
        }
        if (!rank.isEmpty()) problem("network_weights", f + ": module " + rank.getFirst());
        doraMatches(f, doras > 0, "dora_scale");
    }

    /** A DoRA file continues only as a DoRA, a plain LoRA only as a plain LoRA. */
    private void doraMatches(String f, boolean fileIsDora, String what) {
        if (fileIsDora != c.lora().useDora()) {
            problem("network_weights", f + (fileIsDora ? " is a DoRA (" + what + "); set use_dora: true to continue it"
                    : " is a plain LoRA (no " + what + "); set use_dora: false to continue it"));
        }
    }

    /** A scalar tensor's value (kohya's alpha), or NaN for a dtype a LoRA does not store it in. */
    private static double scalar(TensorSource src, String name) throws IOException {
        TensorInfo t = src.info(name);
        MemorySegment s = src.data(name);
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;  // safetensors is little-endian
        return switch (t.dtype()) {
            case F32 -> s.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(le), 0);
            case F64 -> s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(le), 0);
            case F16 -> HalfFloats.halfToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 0));
            case BF16 -> HalfFloats.bfloat16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 0));
            default -> Double.NaN;
        };
    }

    private static String trim(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : Double.toString(v);
    }

    // ---- text-generation

    private void textModel(Path adapter) throws IOException {
        LlmModelFolder folder;
        try {
            folder = LlmModelFolder.resolve(c.model().baseModel());
        } catch (IllegalArgumentException e) {
            problem("base_model", e.getMessage());
            return;
        }
        Map<String, long[]> linears = linearLayers(folder);
        if (linears == null) return;
        if (adapter != null) peftWeights(adapter, folder, linears);
        else targets(folder, linears);
    }

    /**
     * The model's linear layers by HF module path, from the tensor names: 2-D {@code X.weight}
     * tensors other than the token embedding. These are the layers the LLM trainer can adapt.
     */
    private Map<String, long[]> linearLayers(LlmModelFolder folder) throws IOException {
        Path dir = folder.dir();
        Path file = Files.isRegularFile(dir.resolve("model.safetensors.index.json")) ? dir.resolve("model.safetensors.index.json")
                : dir.resolve("model.safetensors");
        if (!Files.isRegularFile(file)) {
            List<Path> pickles = picklesIn(dir);
            problem("base_model", "base_model " + dir + " has no model.safetensors (or model.safetensors.index.json)" + (pickles.isEmpty()
                    ? "; lora-scripts reads only safetensors weights"
                    : ", only pickle weights (" + pickles.getFirst().getFileName() + "), which lora-scripts never loads (unpickling can run"
                      + " code); convert it once: AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)"));
            return null;
        }
        Map<String, long[]> out = new TreeMap<>();
        try (TensorSource src = TensorSource.open(file)) {
            for (String name : src.names()) {
                if (!name.endsWith(".weight")) continue;
                String module = name.substring(0, name.length() - ".weight".length());
                TensorInfo t = src.info(name);
                if (t.rank() == 2 && !module.endsWith("embed_tokens")) out.put(module, t.shape());
            }
        }
        return out;
    }

    private void targets(LlmModelFolder folder, Map<String, long[]> linears) {
        List<String> wanted = c.lora().targetModules();
        if (wanted.contains(PeftTargets.ALL_LINEAR)) return;
        List<String> layers = linears.keySet().stream().filter(n -> !n.equals("lm_head")).toList();
        Predicate<String> selected = PeftTargets.select(wanted, null, null, "lm_head");
        if (linears.keySet().stream().noneMatch(selected)) {
            problem("target_modules", "target_modules " + wanted + " match no linear layer of " + folder.name() + "; its layers are "
                    + PeftTargets.shortNames(layers) + " (or use all-linear)");
            return;
        }
        for (String t : wanted) {
            if (linears.keySet().stream().noneMatch(PeftTargets.select(List.of(t), null, null, "lm_head"))) {
                warnings.add(new ConfigWarning("target_modules", "target_modules '" + t + "' matches no linear layer of " + folder.name()
                        + " and is ignored; its layers are " + PeftTargets.shortNames(layers)));
            }
        }
    }

    /** A PEFT adapter folder to continue: every adapted layer must exist in the model with the adapter's in/out sizes. */
    private void peftWeights(Path dir, LlmModelFolder folder, Map<String, long[]> linears) throws IOException {
        String f = "network_weights " + dir;
        Path weights = dir.resolve("adapter_model.safetensors");
        if (!Files.isDirectory(dir)) {
            problem("network_weights", f + " is a file; for text-generation it must be a PEFT adapter folder"
                    + " (adapter_config.json + adapter_model.safetensors)");
            return;
        }
        if (!Files.isRegularFile(dir.resolve("adapter_config.json"))) {
            problem("network_weights", f + " has no adapter_config.json; it is not a PEFT adapter folder");
            return;
        }
        if (!Files.isRegularFile(weights)) {
            problem("network_weights", f + " has no adapter_model.safetensors" + (Files.exists(dir.resolve("adapter_model.bin"))
                    ? ", only the pickle adapter_model.bin, which lora-scripts never loads (unpickling can run code); re-save the"
                      + " adapter once with PEFT: model.save_pretrained(OUT, safe_serialization=True)" : ""));
            return;
        }
        Map<String, long[]> as = new LinkedHashMap<>(), bs = new LinkedHashMap<>();
        boolean dora = false;
        try (TensorSource src = TensorSource.open(weights)) {
            for (String key : src.names()) {
                dora |= key.endsWith(".lora_magnitude_vector") || key.contains(".lora_magnitude_vector.");
                Matcher m = PEFT_KEY.matcher(key);
                if (m.matches()) (m.group(2).equals("A") ? as : bs).put(m.group(1), src.info(key).shape());
            }
        } catch (IOException | RuntimeException e) {
            problem("network_weights", f + ": adapter_model.safetensors is not readable (" + e.getMessage() + ")");
            return;
        }
        doraMatches(f, dora, "lora_magnitude_vector");
        for (var e : as.entrySet()) {
            long[] ws = linears.get(e.getKey()), a = e.getValue(), b = bs.get(e.getKey());
            if (ws == null) {
                problem("network_weights", f + " adapts '" + e.getKey() + "', which " + folder.name() + " does not have;"
                        + " the adapter was made for another base model");
                return;
            }
            if (a.length != 2 || a[1] != ws[1] || (b != null && (b.length != 2 || b[0] != ws[0]))) {
                problem("network_weights", f + ": the weights for '" + e.getKey() + "' (lora_A " + TensorInfo.shapeString(a)
                        + ") do not fit " + folder.name() + "'s weight " + TensorInfo.shapeString(ws)
                        + "; the adapter was made for another base model");
                return;
            }
        }
    }

    private static List<Path> safetensorsIn(Path dir) throws IOException {
        return filesIn(dir, n -> n.endsWith(".safetensors") || n.endsWith(".safetensors.index.json"));
    }

    private static List<Path> picklesIn(Path dir) throws IOException {
        return filesIn(dir, n -> n.endsWith(".bin") || n.endsWith(".ckpt") || n.endsWith(".pt") || n.endsWith(".pth"));
    }

    private static List<Path> filesIn(Path dir, Predicate<String> name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> name.test(p.getFileName().toString())).sorted().toList();
        }
    }
}
