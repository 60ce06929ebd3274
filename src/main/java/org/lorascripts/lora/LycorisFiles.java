package org.lorascripts.lora;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * LyCORIS LoHa / LoKr files in the kohya layout that LyCORIS's {@code lycoris.kohya} writes and AUTOMATIC1111's
 * Lora extension and ComfyUI load: per module {@code <prefix>_<module path with '.' → '_'>.<key>} with LyCORIS's keys
 * ({@code hada_w1_a}, {@code hada_w1_b}, {@code hada_w2_a}, {@code hada_w2_b}[, {@code hada_t1}, {@code hada_t2}];
 * {@code lokr_w1} or {@code lokr_w1_a}/{@code _b}, {@code lokr_w2} or {@code lokr_w2_a}/{@code _b}[, {@code lokr_t2}])
 * and a 0-dim {@code alpha}, all in the save dtype, with kohya's metadata and addnet hashes ({@link KohyaLoraWriter}).
 * Reading accepts files made by LyCORIS (also with use_tucker's {@code _t} tensors, or w?_b kept 4-D).
 */
public final class LycorisFiles {
    private LycorisFiles() {}

    static final Set<String> LOHA_KEYS = Set.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2");
    static final Set<String> LOKR_KEYS = Set.of("lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t1", "lokr_t2");
    /** Upper bound on modules of one file: SDXL's UNet and both encoders together have a few thousand. */
    private static final int MAX_MODULES = 100_000;

    /** One model's network under its kohya prefix, as {@link KohyaLoraWriter.Part} for plain LoRA. */
    public record Part(String prefix, LycorisNetwork network, UnaryOperator<String> kohyaModule) {
        public Part(String prefix, LycorisNetwork network) { this(prefix, network, UnaryOperator.identity()); }

        public String loraName(String module) { return KohyaLoraWriter.loraName(prefix, kohyaModule, module); }
    }

    /** One module as stored: its algorithm, tensors by LyCORIS key (fp32, CPU) and alpha (null when absent). */
    public record Module(String loraName, LycorisAdapter.Algo algo, Map<String, Tensor> tensors, Double alpha) {
        /** The rank LyCORIS's loaders divide alpha by: hada_w1_b's rows; lokr_w2_b's or lokr_w1_b's; 0 for a full LoKr. */
        public int dim() {
            Tensor t = algo == LycorisAdapter.Algo.LOHA ? tensors.get("hada_w1_b")
                    : tensors.containsKey("lokr_w2_b") ? tensors.get("lokr_w2_b") : tensors.get("lokr_w1_b");
            return t == null ? 0 : (int) t.size(0);
        }
    }

    public record LycorisFile(Path path, Map<String, Module> modules, Map<String, String> metadata) implements AutoCloseable {
        /** The algorithm of the file's modules (they share one). */
        public LycorisAdapter.Algo algo() { return modules.values().iterator().next().algo(); }

        @Override public void close() { modules.values().forEach(m -> m.tensors().values().forEach(Tensor::close)); }
    }

    /** Whether a safetensors key names a LyCORIS LoHa/LoKr tensor ({@code <module>.hada_w1_a}, ...). */
    public static boolean isLycorisKey(String key) {
        int dot = key.indexOf('.');
        String suffix = dot < 0 ? "" : key.substring(dot + 1);
        return LOHA_KEYS.contains(suffix) || LOKR_KEYS.contains(suffix);
    }

    /** Whether the file holds LoHa or LoKr modules (reads the header only). */
    public static boolean isLycoris(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String k : f.names()) if (isLycorisKey(k)) return true;
        }
        return false;
    }

    /** Writes the networks atomically in {@code dtype} (f16, bf16, f32), with the metadata and kohya's hashes added. */
    public static KohyaLoraWriter.Hashes write(Path file, List<Part> parts, DType dtype, Map<String, String> metadata) throws IOException {
        KohyaLoraWriter.checkSaveDtype(dtype);
        Map<String, KohyaLoraWriter.Stored> tensors = new TreeMap<>();
        Map<String, String> owners = new LinkedHashMap<>();
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            for (Part p : parts) {
                for (var e : p.network().adapters().entrySet()) {
                    String name = p.loraName(e.getKey());
                    KohyaLoraWriter.claim(owners, name, p.prefix(), e.getKey());
                    LycorisAdapter a = e.getValue();
                    for (var t : a.tensors().entrySet()) tensors.put(name + "." + t.getKey(), KohyaLoraWriter.stored(t.getValue(), dtype));
                    tensors.put(name + ".alpha", KohyaLoraWriter.stored(Torch.scalar(a.alpha()), dtype));
                }
            }
        }
        return KohyaLoraWriter.writeStored(file, tensors, dtype, metadata);
    }

    /**
     * Reads a LoHa or LoKr file (ours or LyCORIS's). Fails with a one-line message on keys of another kind
     * (plain LoRA mixed in, DoRA's dora_scale, bias), a module missing one of its tensors, or modules of both kinds.
     */
    public static LycorisFile read(Path file) throws IOException {
        Map<String, Map<String, Tensor>> byModule = new TreeMap<>();
        Map<String, Double> alphas = new TreeMap<>();
        List<String> unsupported = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            try {
                for (String key : f.names()) {
                    int dot = key.indexOf('.');
                    String name = dot < 0 ? key : key.substring(0, dot);
                    String suffix = dot < 0 ? "" : key.substring(dot + 1);
                    if (suffix.equals("alpha")) {
                        try (Tensor a = TensorIO.read(f, key, Device.CPU, DType.F64)) {
                            if (a.numel() != 1) throw new IllegalArgumentException(file + ": " + key + " is not a single number");
                            alphas.put(name, a.item());
                        }
                    } else if (LOHA_KEYS.contains(suffix) || LOKR_KEYS.contains(suffix)) {
                        if (!byModule.containsKey(name) && byModule.size() >= MAX_MODULES) {
                            throw new IllegalArgumentException(file + ": more than " + MAX_MODULES + " modules");
                        }
                        byModule.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(suffix, TensorIO.read(f, key, Device.CPU, DType.F32).keep());
                    } else {
                        unsupported.add(key);
                    }
                }
                if (!unsupported.isEmpty()) {
                    boolean dora = unsupported.stream().anyMatch(k -> k.endsWith(".dora_scale"));
                    throw new IllegalArgumentException(file + ": " + unsupported.size() + " keys are not LoHa/LoKr tensors (hada_*, lokr_*, alpha), e.g. "
                            + KohyaLoraReader.few(unsupported) + (dora ? "; LyCORIS files with DoRA (dora_wd) are not supported" : "; files mixing network types are not supported"));
                }
                Map<String, Module> modules = new LinkedHashMap<>();
                LycorisAdapter.Algo seen = null;
                for (var e : byModule.entrySet()) {
                    Map<String, Tensor> t = e.getValue();
                    LycorisAdapter.Algo algo = t.keySet().iterator().next().startsWith("hada_") ? LycorisAdapter.Algo.LOHA : LycorisAdapter.Algo.LOKR;
                    checkComplete(file, e.getKey(), algo, t);
                    if (seen != null && seen != algo) {
                        throw new IllegalArgumentException(file + ": has both LoHa and LoKr modules (e.g. " + e.getKey() + "); files mixing network types are not supported");
                    }
                    seen = algo;
                    modules.put(e.getKey(), new Module(e.getKey(), algo, t, alphas.get(e.getKey())));
                }
                if (modules.isEmpty()) throw new IllegalArgumentException(file + ": has no LoHa or LoKr tensors");
                return new LycorisFile(file, modules, f.metadata());
            } catch (RuntimeException | IOException e) {
                byModule.values().forEach(m -> m.values().forEach(Tensor::close));
                throw e;
            }
        }
    }

    private static void checkComplete(Path file, String name, LycorisAdapter.Algo algo, Map<String, Tensor> t) {
        List<String> missing = new ArrayList<>();
        if (algo == LycorisAdapter.Algo.LOHA) {
            for (String k : List.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b")) if (!t.containsKey(k)) missing.add(k);
            if (t.containsKey("hada_t1") != t.containsKey("hada_t2")) missing.add(t.containsKey("hada_t1") ? "hada_t2" : "hada_t1");
            for (String k : t.keySet()) if (k.startsWith("lokr_")) missing.add("(no " + k + " in a LoHa module)");
        } else {
            if (!t.containsKey("lokr_w1") && !(t.containsKey("lokr_w1_a") && t.containsKey("lokr_w1_b"))) missing.add("lokr_w1 or lokr_w1_a/lokr_w1_b");
            if (!t.containsKey("lokr_w2") && !(t.containsKey("lokr_w2_a") && t.containsKey("lokr_w2_b"))) missing.add("lokr_w2 or lokr_w2_a/lokr_w2_b");
            for (String k : t.keySet()) if (k.startsWith("hada_")) missing.add("(no " + k + " in a LoKr module)");
            if (t.containsKey("lokr_t1")) missing.add("(lokr_t1 is not supported)");
        }
        if (!missing.isEmpty()) throw new IllegalArgumentException(file + ": " + algo.algo() + " module " + name + " is incomplete: " + String.join(", ", missing));
    }

    /**
     * Attaches every module of the file to the model it belongs to, one network per prefix, as
     * {@link KohyaLoraReader#attach(KohyaLoraReader.LoraFile, Map, Map, double, Device)} does for plain LoRA; fails,
     * attaching nothing, when a module matches no host or its tensors do not make the host's weight shape.
     */
    public static Map<String, LycorisNetwork> attach(LycorisFile file, Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                     Map<String, UnaryOperator<String>> kohyaModuleByPrefix, double multiplier, Device device) {
        Map<String, KohyaLoraReader.Target> byLoraName = KohyaLoraReader.targetsByLoraName(hostsByPrefix, kohyaModuleByPrefix);
        List<String> unknown = new ArrayList<>();
        for (String name : file.modules().keySet()) if (!byLoraName.containsKey(name)) unknown.add(name);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(file.path() + ": " + unknown.size() + " of " + file.modules().size()
                    + " LyCORIS modules match no module of the model (prefixes " + hostsByPrefix.keySet() + "): " + KohyaLoraReader.few(unknown)
                    + ". Is the file for another base model?");
        }
        List<LycorisAdapter> made = new ArrayList<>();
        Map<String, LycorisNetwork> nets = new LinkedHashMap<>();
        try (var ng = Autograd.noGrad()) {
            for (Module m : file.modules().values()) {
                KohyaLoraReader.Target t = byLoraName.get(m.loraName());
                try {
                    made.add(LycorisAdapter.fromTensors(m.algo(), m.tensors(), m.alpha(), t.host(), device));
                } catch (IllegalArgumentException e) {
                    made.forEach(LycorisAdapter::close);
                    throw new IllegalArgumentException(file.path() + ": module " + m.loraName() + ": " + e.getMessage(), e);
                }
            }
            for (String prefix : hostsByPrefix.keySet()) nets.put(prefix, new LycorisNetwork());
            int i = 0;
            for (Module m : file.modules().values()) {
                KohyaLoraReader.Target t = byLoraName.get(m.loraName());
                LycorisAdapter a = made.get(i++);
                a.setMultiplier(multiplier);
                nets.get(t.prefix()).add(t.module(), t.host(), a);
            }
        }
        return nets;
    }

    /** Reads a file and attaches it (see {@link #attach}); the file's tensors are freed afterwards. */
    public static Map<String, LycorisNetwork> load(Path file, Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                   Map<String, UnaryOperator<String>> kohyaModuleByPrefix, double multiplier, Device device) throws IOException {
        try (LycorisFile f = read(file)) {
            return attach(f, hostsByPrefix, kohyaModuleByPrefix, multiplier, device);
        }
    }
}
