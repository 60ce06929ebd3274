package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.lorascripts.data.DatasetException;
import org.lorascripts.lora.LycorisFiles;
import org.lorascripts.io.HalfFloats;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.gguf.GgufHeader;
import org.lorascripts.io.TensorSource;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Describes a safetensors or GGUF file: metadata, tensors, and for LoRA files the rank and alpha per module. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a .safetensors or .gguf file's metadata, tensors, and LoRA rank/alpha (LyCORIS LoHa/LoKr: algo, dim/alpha) per module.",
        footer = {"", "Examples:", "  ./lora info output/my_style_lora.safetensors",
                "  ./lora info output/my_text_lora/          # a PEFT adapter folder",
                "  ./lora info models/v1-5-pruned.safetensors --all",
                "  ./lora info output/llama32_domain.gguf      # a llama.cpp LoRA adapter or model"})
public final class InfoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "a .safetensors file, a sharded *.safetensors.index.json, or a folder holding one")
    Path path;

    @Option(names = "--all", description = "list every tensor (default: the first 40)")
    boolean all;

    /** One LoRA module's tensors, collected from kohya (lora_down/up/alpha/dora_scale) or PEFT (lora_A/B/lora_magnitude_vector) keys. */
    private static final class Module {
        long[] down, up;
        long[] dora;     // a DoRA's magnitude: kohya/LyCORIS dora_scale or PEFT lora_magnitude_vector
        Double alpha;
        DType dtype;
        final Map<String, long[]> lycoris = new java.util.LinkedHashMap<>();   // LoHa / LoKr: LyCORIS key → shape
    }

    @Override public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return describe(spec.commandLine().getOut());
        } catch (IOException e) {   // unreadable or not a safetensors file: the file's problem, not ours
            return ErrorReporter.reportUserError(e, err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private int describe(PrintWriter out) throws IOException {
        Path file = resolve(path);
        if (Files.isRegularFile(file) && GgufHeader.isGguf(file)) return describeGguf(out, file);
        try (TensorSource src = TensorSource.open(file)) {
            out.println("file      " + file);
            Map<String, String> meta = new TreeMap<>(src.metadata());
            long params = 0, bytes = 0;
            Map<DType, Integer> dtypes = new TreeMap<>();
            Map<String, Module> modules = new TreeMap<>();
            for (String name : src.names()) {
                TensorInfo t = src.info(name);
                params += t.numel();
                bytes += t.byteLength();
                dtypes.merge(t.dtype(), 1, Integer::sum);
                collectLora(src, name, t, modules);
            }
            out.printf(Locale.ROOT, "tensors   %d (%s), %,d parameters, %.2f MiB%n", src.names().size(), dtypes, params, bytes / 1048576.0);
            if (modules.isEmpty()) {
                SdCheckpointLoader.describe(src, file.getFileName().toString()).ifPresent(m -> out.println("model     " + m));
            }
            if (!modules.isEmpty()) printLora(out, modules);
            if (!meta.isEmpty()) {
                out.println("metadata");
                for (var e : meta.entrySet()) out.println("  " + e.getKey() + " = " + abbreviate(e.getValue()));
            }
            if (all || modules.isEmpty()) {
                out.println("tensors");
                int shown = 0;
                for (String name : src.names()) {
                    if (!all && shown++ >= 40) {
                        out.println("  ... " + (src.names().size() - 40) + " more (use --all)");
                        break;
                    }
                    TensorInfo t = src.info(name);
                    out.printf("  %-70s %-5s %s%n", name, t.dtype().displayName(), TensorInfo.shapeString(t.shape()));
                }
            }
        }
        return 0;
    }

    /** A GGUF file (a llama.cpp model or LoRA adapter): header, metadata, tensors; LoRA pairs with their ranks. */
    private int describeGguf(PrintWriter out, Path file) throws IOException {
        GgufHeader h = GgufHeader.read(file);
        out.println("file      " + file);
        Object type = h.metadata().get("general.type");
        out.printf(Locale.ROOT, "gguf      version %d, %s, architecture %s, %d tensors, alignment %d%n", h.version(),
                type == null ? "model" : type, h.metadata().getOrDefault("general.architecture", "?"), h.tensors().size(), h.alignment());
        Map<String, long[]> loraA = new TreeMap<>();
        Map<String, String> types = new TreeMap<>();
        for (GgufHeader.Info t : h.tensors()) {
            types.merge(t.typeName(), "1", (x, y) -> Integer.toString(Integer.parseInt(x) + 1));
            if (t.name().endsWith(".lora_a")) loraA.put(t.name().substring(0, t.name().length() - ".lora_a".length()), t.shape());
        }
        out.println("types     " + types);
        if (!loraA.isEmpty()) {
            Map<String, Integer> byRank = new TreeMap<>();
            for (long[] a : loraA.values()) byRank.merge("rank " + a[0], 1, Integer::sum);
            out.println("lora      " + loraA.size() + " modules: " + byRank + (h.metadata().get("adapter.lora.alpha") instanceof Double al
                    ? ", alpha " + fmt(al) : ""));
        }
        out.println("metadata");
        for (var e : h.metadata().entrySet()) out.println("  " + e.getKey() + " = " + abbreviate(String.valueOf(e.getValue())));
        out.println("tensors");
        int shown = 0;
        for (GgufHeader.Info t : h.tensors()) {
            if (!all && shown++ >= 40) {
                out.println("  ... " + (h.tensors().size() - 40) + " more (use --all)");
                break;
            }
            out.printf("  %-70s %-5s %s%n", t.name(), t.typeName(), TensorInfo.shapeString(t.shape()));
        }
        return 0;
    }

    private static void collectLora(TensorSource src, String name, TensorInfo t, Map<String, Module> modules) throws IOException {
        String module;
        if (LycorisFiles.isLycorisKey(name)) {
            int dot = name.indexOf('.');
            modules.computeIfAbsent(name.substring(0, dot), k -> new Module()).lycoris.put(name.substring(dot + 1), t.shape());
        } else if (name.endsWith(".lora_down.weight") || name.endsWith(".lora_A.weight")) {
            module = name.substring(0, name.lastIndexOf(name.endsWith(".lora_down.weight") ? ".lora_down.weight" : ".lora_A.weight"));
            Module m = modules.computeIfAbsent(module, k -> new Module());
            m.down = t.shape();
            m.dtype = t.dtype();
        } else if (name.endsWith(".lora_up.weight") || name.endsWith(".lora_B.weight")) {
            module = name.substring(0, name.lastIndexOf(name.endsWith(".lora_up.weight") ? ".lora_up.weight" : ".lora_B.weight"));
            modules.computeIfAbsent(module, k -> new Module()).up = t.shape();
        } else if (name.endsWith(".dora_scale") || name.endsWith(".lora_magnitude_vector")) {
            module = name.substring(0, name.lastIndexOf('.'));
            modules.computeIfAbsent(module, k -> new Module()).dora = t.shape();
        } else if (name.endsWith(".alpha") && t.numel() == 1) {
            module = name.substring(0, name.length() - ".alpha".length());
            modules.computeIfAbsent(module, k -> new Module()).alpha = scalar(src, name, t);
        }
    }

    private static double scalar(TensorSource src, String name, TensorInfo t) throws IOException {
        var seg = src.data(name);
        return switch (t.dtype()) {
            case F32 -> seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
            case F64 -> seg.get(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, 0);
            case F16 -> HalfFloats.halfToFloat(seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0));
            case BF16 -> HalfFloats.bfloat16ToFloat(seg.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0));
            default -> Double.NaN;
        };
    }

    private static void printLora(PrintWriter out, Map<String, Module> modules) {
        Map<String, Integer> byRank = new TreeMap<>();
        List<String> lines = new ArrayList<>();
        for (var e : modules.entrySet()) {
            Module m = e.getValue();
            if (m.down == null) continue;
            int rank = (int) m.down[0];
            byRank.merge("rank " + rank + (m.alpha != null ? ", alpha " + fmt(m.alpha) : ""), 1, Integer::sum);
            lines.add(String.format("  %-80s rank %d%s down %s up %s%s", e.getKey(), rank,
                    m.alpha != null ? ", alpha " + fmt(m.alpha) + "," : ",", TensorInfo.shapeString(m.down), m.up == null ? "?" : TensorInfo.shapeString(m.up),
                    m.dora == null ? "" : " magnitude " + TensorInfo.shapeString(m.dora)));
        }
        if (!lines.isEmpty() || modules.values().stream().allMatch(m -> m.lycoris.isEmpty())) {
            long dora = modules.values().stream().filter(m -> m.down != null && m.dora != null).count();
            out.println("lora      " + lines.size() + " modules" + (dora == 0 ? "" : " (DoRA: " + dora + " with a magnitude vector)") + ": " + byRank);
            for (String l : lines) out.println(l);
        }
        printLycoris(out, modules);
    }

    /**
     * LyCORIS LoHa / LoKr modules: the algorithm, modules per kohya prefix and per (dim, alpha), and per module its
     * tensors' shapes. dim is what WebUI divides alpha by (hada_w1_b's rows; lokr_w2_b's or lokr_w1_b's; "full" for a
     * LoKr without low-rank factors, applied at scale 1).
     */
    private static void printLycoris(PrintWriter out, Map<String, Module> modules) {
        Map<String, Integer> byDim = new TreeMap<>(), byAlgo = new TreeMap<>(), byPrefix = new TreeMap<>();
        List<String> lines = new ArrayList<>();
        for (var e : modules.entrySet()) {
            Map<String, long[]> t = e.getValue().lycoris;
            if (t.isEmpty()) continue;
            boolean loha = t.keySet().stream().anyMatch(k -> k.startsWith("hada_"));
            String algo = loha ? "loha" : "lokr";
            long[] dimOf = loha ? t.get("hada_w1_b") : t.containsKey("lokr_w2_b") ? t.get("lokr_w2_b") : t.get("lokr_w1_b");
            String dim = dimOf == null ? "full" : Long.toString(dimOf[0]);
            Double alpha = e.getValue().alpha;
            String key = "dim " + dim + (alpha != null ? ", alpha " + fmt(alpha) : "");
            byDim.merge(key, 1, Integer::sum);
            byAlgo.merge(algo, 1, Integer::sum);
            String name = e.getKey();
            String prefix = name.startsWith("lora_unet_") ? "lora_unet" : name.startsWith("lora_te1_") ? "lora_te1"
                    : name.startsWith("lora_te2_") ? "lora_te2" : name.startsWith("lora_te_") ? "lora_te" : "other";
            byPrefix.merge(prefix, 1, Integer::sum);
            StringBuilder shapes = new StringBuilder();
            for (var s : t.entrySet()) shapes.append(' ').append(s.getKey()).append(' ').append(TensorInfo.shapeString(s.getValue()));
            lines.add(String.format("  %-80s %s %s,%s", name, algo, key, shapes));
        }
        if (lines.isEmpty()) return;
        out.println("lycoris   " + String.join(" + ", byAlgo.keySet()) + ", " + lines.size() + " modules " + byPrefix + ": " + byDim);
        for (String l : lines) out.println(l);
    }

    private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

    private static String abbreviate(String v) { return v.length() <= 300 ? v : v.substring(0, 300) + "... (" + v.length() + " chars)"; }

    static Path resolve(Path p) {
        if (!Files.exists(p)) throw new DatasetException(p + " does not exist");
        var pickle = PickleFiles.extension(p);
        if (pickle.isPresent()) {
            throw new DatasetException(PickleFiles.refusal(p.toString(), pickle.get(), "a checkpoint in the WebUI's Checkpoint Merger"
                    + " (checkpoint format \"safetensors\"), a LoRA or other dict of tensors with " + PickleFiles.tensorDictConversion(p)));
        }
        if (!Files.isDirectory(p)) return p;
        for (String candidate : List.of("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json",
                "diffusion_pytorch_model.safetensors")) {
            if (Files.exists(p.resolve(candidate))) return p.resolve(candidate);
        }
        throw new DatasetException(p + " holds no adapter_model.safetensors, model.safetensors or index; name the file");
    }
}
