package org.lorascripts.lora;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * Reads kohya-format LoRA files (ours, or made by sd-scripts: fp16/bf16/fp32, with or without
 * {@code .alpha}; a missing alpha means alpha = rank, as in kohya's {@code create_network_from_weights})
 * and attaches them to models: a key's module is found by matching {@code <prefix>_<name with '.' → '_'>}
 * against the candidate host names of each model, mapped first where kohya writes other names than the
 * model's (SDXL's UNet: LDM names). Names are never parsed back: '_' in a kohya name cannot be told
 * from a '.' that became '_', so the model's module list is the only way back.
 */
public final class KohyaLoraReader {
    private KohyaLoraReader() {}

    /**
     * One module as stored: down (r, in[, kh, kw]), up (out, r[, 1, 1]) as fp32 CPU tensors, and a
     * DoRA's {@code dora_scale} as stored (null for a plain LoRA).
     */
    public record Module(String loraName, Tensor down, Tensor up, double alpha, boolean alphaStored, Tensor doraScale) {
        public Module(String loraName, Tensor down, Tensor up, double alpha, boolean alphaStored) {
            this(loraName, down, up, alpha, alphaStored, null);
        }

        public int rank() { return (int) down.size(0); }

        public double scale() { return alpha / rank(); }
    }

    /** The modules of one file by kohya name, and its metadata. Closing frees the tensors. */
    public record LoraFile(Path path, Map<String, Module> modules, Map<String, String> metadata) implements AutoCloseable {
        @Override public void close() {
            for (Module m : modules.values()) {
                m.down().close();
                m.up().close();
                if (m.doraScale() != null) m.doraScale().close();
            }
        }
    }

    public static LoraFile read(Path file) throws IOException {
        Map<String, Tensor> downs = new TreeMap<>(), ups = new TreeMap<>(), doras = new TreeMap<>();
        Map<String, Double> alphas = new TreeMap<>();
        List<String> unsupported = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String key : f.names()) {
                int dot = key.indexOf('.');
                String name = dot < 0 ? key : key.substring(0, dot);
                String suffix = dot < 0 ? "" : key.substring(dot + 1);
                switch (suffix) {
                    case "lora_down.weight" -> downs.put(name, TensorIO.read(f, key, Device.CPU, DType.F32).keep());
                    case "lora_up.weight" -> ups.put(name, TensorIO.read(f, key, Device.CPU, DType.F32).keep());
                    case "dora_scale" -> doras.put(name, TensorIO.read(f, key, Device.CPU, DType.F32).keep());
                    case "alpha" -> {
                        try (Tensor a = TensorIO.read(f, key, Device.CPU, DType.F64)) {
                            alphas.put(name, a.item());
                        }
                    }
                    default -> unsupported.add(key);
                }
            }
            if (!unsupported.isEmpty()) {
                closeAll(downs, ups, doras);
                throw new IllegalArgumentException(file + ": " + unsupported.size() + " keys are not plain LoRA or DoRA (lora_down/lora_up/alpha/dora_scale), e.g. "
                        + few(unsupported) + "; LyCORIS (LoHa, LoKr) and other network types are not supported");
            }
            Map<String, Module> modules = new LinkedHashMap<>();
            for (String name : downs.keySet()) {
                Tensor down = downs.get(name), up = ups.get(name);
                if (up == null) {
                    closeAll(downs, ups, doras);
                    throw new IllegalArgumentException(file + ": " + name + " has lora_down.weight but no lora_up.weight");
                }
                Double alpha = alphas.get(name);
                modules.put(name, new Module(name, down, up, alpha == null ? down.size(0) : alpha, alpha != null, doras.remove(name)));
            }
            for (String name : ups.keySet()) {
                if (!downs.containsKey(name)) {
                    closeAll(downs, ups, doras);
                    throw new IllegalArgumentException(file + ": " + name + " has lora_up.weight but no lora_down.weight");
                }
            }
            if (!doras.isEmpty()) {
                String name = doras.keySet().iterator().next();
                closeAll(downs, ups, doras);
                throw new IllegalArgumentException(file + ": " + name + " has dora_scale but no lora_down.weight");
            }
            return new LoraFile(file, modules, f.metadata());
        }
    }

    /**
     * Attaches every module of the file to the model it belongs to, one network per prefix
     * ({@code "lora_te" → text encoder hosts}, {@code "lora_unet" → U-Net hosts}); adapters get fp32
     * weights on {@code device} that require grad (to continue training) and the multiplier (e.g. 0.8 for
     * {@code <lora:name:0.8>}). Fails, attaching nothing, when a key matches no host or a shape differs.
     */
    public static Map<String, LoraNetwork> attach(LoraFile file, Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                  double multiplier, Device device) {
        return attach(file, hostsByPrefix, Map.of(), multiplier, device);
    }

    /**
     * As {@link #attach(LoraFile, Map, double, Device)}, with the module-name mapping per prefix the file
     * was written with ({@link KohyaLoraWriter.Part#kohyaModule}); a prefix without one uses the hosts'
     * names. Hosts the mapping has no name for (null) cannot be in the file and are skipped.
     */
    public static Map<String, LoraNetwork> attach(LoraFile file, Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                  Map<String, UnaryOperator<String>> kohyaModuleByPrefix, double multiplier, Device device) {
        Map<String, Target> byLoraName = targetsByLoraName(hostsByPrefix, kohyaModuleByPrefix);
        List<String> unknown = new ArrayList<>();
        for (String name : file.modules().keySet()) if (!byLoraName.containsKey(name)) unknown.add(name);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(file.path() + ": " + unknown.size() + " of " + file.modules().size()
                    + " LoRA modules match no module of the model (prefixes " + hostsByPrefix.keySet() + "): " + few(unknown)
                    + (byLoraName.isEmpty() ? "" : "; the model's names look like " + few(new ArrayList<>(byLoraName.keySet())))
                    + ". Is the LoRA for another base model?");
        }
        for (Module m : file.modules().values()) {
            LoraHost host = byLoraName.get(m.loraName()).host();
            checkShape(file.path(), m.loraName() + ".lora_down.weight", m.down().shape(), downShape(host, m.rank()));
            checkShape(file.path(), m.loraName() + ".lora_up.weight", m.up().shape(), upShape(host, m.rank()));
            if (m.doraScale() != null && doraDecomposition(m.doraScale().shape(), host.weightShape()) == null) {
                throw new IllegalArgumentException(file.path() + ": " + m.loraName() + ".dora_scale has shape " + Arrays.toString(m.doraScale().shape())
                        + ", but the model's module " + Arrays.toString(host.weightShape()) + " needs [1, " + host.weightShape()[1]
                        + ", ...] (per input) or [" + host.weightShape()[0] + ", ...] (per output)");
            }
        }
        Map<String, LoraNetwork> nets = new LinkedHashMap<>();
        for (String prefix : hostsByPrefix.keySet()) nets.put(prefix, new LoraNetwork());
        try (var ng = Autograd.noGrad()) {
            for (Module m : file.modules().values()) {
                Target t = byLoraName.get(m.loraName());
                LoraHost host = t.host();
                Tensor down = m.down().reshape(downShape(host, m.rank())).to(DType.F32, device).contiguous().copy().requiresGrad_(true).keep();
                Tensor up = m.up().reshape(upShape(host, m.rank())).to(DType.F32, device).contiguous().copy().requiresGrad_(true).keep();
                LoraAdapter a;
                if (m.doraScale() == null) {
                    a = new LoraAdapter(down, up, host.kind(), host.stride(), host.padding(), m.rank(), m.alpha(), m.scale(), 0);
                } else {
                    LoraAdapter.Decomposition d = doraDecomposition(m.doraScale().shape(), host.weightShape());
                    Tensor mag = m.doraScale().reshape(LoraAdapter.magnitudeShape(host, d)).to(DType.F32, device).contiguous().copy()
                            .requiresGrad_(true).keep();
                    a = new LoraAdapter(down, up, mag, d, host.kind(), host.stride(), host.padding(), m.rank(), m.alpha(), m.scale(), 0);
                }
                a.setMultiplier(multiplier);
                nets.get(t.prefix()).add(t.module(), host, a);
            }
        }
        return nets;
    }

    /** Reads a file and attaches it (see {@link #attach}); the file's tensors are freed afterwards. */
    public static Map<String, LoraNetwork> load(Path file, Map<String, Map<String, LoraHost>> hostsByPrefix, double multiplier, Device device)
            throws IOException {
        return load(file, hostsByPrefix, Map.of(), multiplier, device);
    }

    /** Reads a file and attaches it with module-name mappings (see {@link #attach(LoraFile, Map, Map, double, Device)}). */
    public static Map<String, LoraNetwork> load(Path file, Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                Map<String, UnaryOperator<String>> kohyaModuleByPrefix, double multiplier, Device device)
            throws IOException {
        try (LoraFile f = read(file)) {
            return attach(f, hostsByPrefix, kohyaModuleByPrefix, multiplier, device);
        }
    }

    private static long[] downShape(LoraHost host, int rank) {
        long[] ws = host.weightShape();
        return host.kind() == LoraHost.Kind.LINEAR ? new long[] {rank, ws[1]} : new long[] {rank, ws[1], ws[2], ws[3]};
    }

    private static long[] upShape(LoraHost host, int rank) {
        long[] ws = host.weightShape();
        return host.kind() == LoraHost.Kind.LINEAR ? new long[] {ws[0], rank} : new long[] {ws[0], rank, 1, 1};
    }

    /** Equal, or equal but for trailing 1x1 dims (kohya stores 1x1 convolutions and linears interchangeably). */
    private static void checkShape(Path file, String key, long[] stored, long[] expected) {
        if (!Arrays.equals(squeeze11(stored), squeeze11(expected))) {
            throw new IllegalArgumentException(file + ": " + key + " has shape " + Arrays.toString(stored) + ", but the model's module needs "
                    + Arrays.toString(expected) + "; the LoRA was made for a model of another size");
        }
    }

    private static long[] squeeze11(long[] s) {
        return s.length == 4 && s[2] == 1 && s[3] == 1 ? new long[] {s[0], s[1]} : s;
    }

    /** A host a file's module attaches to: the prefix (network) and module name it has in the model. */
    record Target(String prefix, String module, LoraHost host) {}

    /**
     * Every host by the kohya name it is stored under ({@code prefix_module} with dots as underscores), module
     * names mapped per prefix as the file was written; hosts the mapping has no name for (null) are left out.
     */
    static Map<String, Target> targetsByLoraName(Map<String, Map<String, LoraHost>> hostsByPrefix,
                                                  Map<String, UnaryOperator<String>> kohyaModuleByPrefix) {
        Map<String, Target> byLoraName = new LinkedHashMap<>();
        for (var p : hostsByPrefix.entrySet()) {
            UnaryOperator<String> naming = kohyaModuleByPrefix.getOrDefault(p.getKey(), UnaryOperator.identity());
            for (var h : p.getValue().entrySet()) {
                String mapped = naming.apply(h.getKey());
                if (mapped == null) continue;
                byLoraName.put(KohyaLoraWriter.loraName(p.getKey(), mapped), new Target(p.getKey(), h.getKey(), h.getValue()));
            }
        }
        return byLoraName;
    }

    /** The first three names, then "..." when there are more. */
    static String few(List<String> names) {
        List<String> head = names.subList(0, Math.min(3, names.size()));
        return String.join(", ", head) + (names.size() > 3 ? ", ..." : "");
    }

    @SafeVarargs
    private static void closeAll(Map<String, Tensor>... maps) {
        for (Map<String, Tensor> m : maps) m.values().forEach(Tensor::close);
    }

    /**
     * Which DoRA a stored dora_scale is, from its shape against the host's weight (out, in, ...), as
     * ComfyUI tells them apart: (1, in[, 1, 1]) per input channel (LyCORIS wd_on_output=False, what
     * WebUI applies), (out[, 1, 1, 1]) per output (wd_on_output=True); null for a shape that fits neither.
     */
    public static LoraAdapter.Decomposition doraDecomposition(long[] stored, long[] weight) {
        long n = 1;
        for (long d : stored) n *= d;
        if (stored.length >= 2 && stored[0] == 1 && stored[1] == weight[1] && n == weight[1]) return LoraAdapter.Decomposition.INPUT;
        if (stored.length >= 1 && stored[0] == weight[0] && n == weight[0]) return LoraAdapter.Decomposition.OUTPUT;
        return null;
    }
}
