package org.lorascripts.lora;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lorascripts.io.Json;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * Reads a PEFT LoRA adapter folder ({@code adapter_config.json} + {@code adapter_model.safetensors}),
 * ours or one PEFT saved. Keys are {@code base_model.model.<module>.lora_A.weight}; a key that
 * still carries the adapter name ({@code lora_A.default.weight}, as some tools save) is accepted too.
 * Reference: https://github.com/huggingface/peft/blob/main/src/peft/utils/save_and_load.py
 */
public final class PeftAdapterReader {
    private static final Pattern KEY = Pattern.compile("^(?:base_model\\.model\\.)?(.+)\\.lora_([AB])(?:\\.[^.]+)?\\.weight$");
    /** DoRA's magnitude: {@code <module>.lora_magnitude_vector} as PEFT saves it, or with the adapter name and {@code .weight}. */
    private static final Pattern MAGNITUDE = Pattern.compile("^(?:base_model\\.model\\.)?(.+)\\.lora_magnitude_vector(?:\\.[^.]+\\.weight|\\.weight)?$");

    private PeftAdapterReader() {}

    /** Reads the folder and attaches its adapters to the model's hosts (fp32 masters on {@code device}). */
    public static LoraNetwork attach(Path dir, Map<String, LoraHost> hosts, Device device) throws IOException {
        try (PeftAdapter a = read(dir)) {
            return a.attach(hosts, device);
        }
    }

    public static PeftAdapter read(Path dir) throws IOException {
        Path cfgFile = dir.resolve(PeftAdapterWriter.CONFIG_FILE);
        Path weights = dir.resolve(PeftAdapterWriter.WEIGHTS_FILE);
        if (!Files.isRegularFile(cfgFile)) throw new IOException(dir + ": no " + PeftAdapterWriter.CONFIG_FILE + "; not a PEFT adapter folder");
        if (!Files.isRegularFile(weights)) {
            Path pickle = dir.resolve("adapter_model.bin");   // what peft writes without safe_serialization
            if (Files.exists(pickle)) {
                throw new IOException(PickleFiles.refusal(pickle.toString(), ".bin", "with peft, PeftModel.from_pretrained(base_model, DIR)"
                        + ".save_pretrained(OUT_DIR, safe_serialization=True), or " + PickleFiles.tensorDictConversion(pickle)));
            }
            throw new IOException(dir + ": no " + PeftAdapterWriter.WEIGHTS_FILE);
        }
        PeftAdapterConfig cfg = PeftAdapterConfig.fromJson(Json.readObject(cfgFile), cfgFile.toString());
        Map<String, Tensor> as = new LinkedHashMap<>(), bs = new LinkedHashMap<>(), mags = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String key : f.names()) {
                Matcher mm = MAGNITUDE.matcher(key);
                if (mm.matches()) {
                    if (!cfg.useDora()) throw new IOException(weights + ": " + key + " is a DoRA magnitude, but " + cfgFile + " has no use_dora: true");
                    try (Tensor raw = TensorIO.read(f, key)) {
                        mags.put(mm.group(1), raw.to(DType.F32).reshape(-1).keep());   // (out); some tools save (out, 1)
                    }
                    continue;
                }
                Matcher m = KEY.matcher(key);
                if (!m.matches()) {
                    throw new IOException(weights + ": tensor '" + key + "' is not a LoRA or DoRA weight (lora_A / lora_B / lora_magnitude_vector); "
                            + "embedding LoRA and saved full modules are not supported");
                }
                Tensor t;
                try (Tensor raw = TensorIO.read(f, key)) {
                    t = raw.to(DType.F32).keep();
                }
                if (t.dim() != 2) throw new IOException(weights + ": " + key + " has shape " + Arrays.toString(t.shape()) + "; LoRA weights of linear layers are 2-D");
                (m.group(2).equals("A") ? as : bs).put(m.group(1), t);
            }
        }
        Map<String, PeftAdapter.Pair> modules = new LinkedHashMap<>();
        for (var e : as.entrySet()) {
            Tensor b = bs.remove(e.getKey());
            if (b == null) throw new IOException(weights + ": " + e.getKey() + " has lora_A but no lora_B");
            if (b.size(1) != e.getValue().size(0)) {
                throw new IOException(weights + ": " + e.getKey() + " lora_A " + Arrays.toString(e.getValue().shape()) + " and lora_B "
                        + Arrays.toString(b.shape()) + " disagree on the rank");
            }
            Tensor mag = mags.remove(e.getKey());
            if (cfg.useDora() && mag == null) throw new IOException(weights + ": " + e.getKey() + " has no lora_magnitude_vector, but the adapter is a DoRA (use_dora)");
            modules.put(e.getKey(), new PeftAdapter.Pair(e.getValue(), b, mag));
        }
        if (!mags.isEmpty()) throw new IOException(weights + ": " + mags.keySet().iterator().next() + " has a lora_magnitude_vector but no lora_A");
        if (!bs.isEmpty()) throw new IOException(weights + ": " + bs.keySet().iterator().next() + " has lora_B but no lora_A");
        if (modules.isEmpty()) throw new IOException(weights + ": holds no LoRA weights");
        return new PeftAdapter(cfg, modules);
    }

}
