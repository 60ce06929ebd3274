package org.lorascripts.tasks.llm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lorascripts.io.gguf.GgufTypes;
import org.lorascripts.io.gguf.GgufWriter;
import org.lorascripts.lora.PeftAdapter;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A PEFT LoRA adapter as a GGUF LoRA adapter that llama.cpp loads with {@code --lora}, as llama.cpp's
 * {@code convert_lora_to_gguf.py} writes one: metadata {@code general.architecture} (the base model's GGUF
 * architecture: {@code llama} for Llama and Mistral, {@code qwen2}), {@code general.type = adapter},
 * {@code adapter.type = lora}, {@code adapter.lora.alpha} (float32), {@code general.name}; per module
 * {@code blk.N.<tensor>.weight.lora_a} (PEFT's A, (r, in)) and {@code .lora_b} (B, (out, r)), names as
 * {@code convert_hf_to_gguf.py} maps HF tensors (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up,
 * ffn_down, output). For the llama architecture the rows of q's and k's B are permuted as convert_hf_to_gguf
 * permutes q_proj / k_proj for its rotary layout (heads of k: num_key_value_heads). llama.cpp scales each module
 * by alpha / rank (its A's rank); where PEFT's scale differs (rsLoRA, alpha_pattern) the ratio is folded into B.
 */
public final class GgufLoraExport {
    private GgufLoraExport() {}

    /** What was written. */
    public record Report(String architecture, int modules, double alpha, int foldedScales) {}

    private static final Pattern LAYER = Pattern.compile("^(?:model\\.)?layers\\.(\\d+)\\.(self_attn|mlp)\\.(\\w+)$");

    public static Report export(Path adapterDir, Path baseDir, DType dtype, Path output) throws IOException {
        GgufTypes.TensorType type = switch (dtype) {
            case F32 -> GgufTypes.TensorType.F32;
            case F16 -> GgufTypes.TensorType.F16;
            case BF16 -> GgufTypes.TensorType.BF16;
            default -> throw new IllegalArgumentException("--outtype must be f32, f16 or bf16, got " + dtype.displayName());
        };
        LlmConfig cfg = LlmConfig.read(baseDir);
        String arch = architecture(cfg.modelType());
        int folded = 0;
        try (PeftAdapter adapter = PeftAdapterReader.read(adapterDir); var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            double alpha = adapter.config().loraAlpha();
            GgufWriter w = new GgufWriter()
                    .putString("general.architecture", arch)
                    .putString("general.type", "adapter")
                    .putString("adapter.type", "lora")
                    .putFloat32("adapter.lora.alpha", (float) alpha)
                    .putString("general.name", adapterDir.toAbsolutePath().normalize().getFileName().toString());
            List<String> unknown = new ArrayList<>();
            for (var e : adapter.modules().entrySet()) {
                String module = e.getKey();
                String name = ggufName(module);
                if (name == null) {
                    unknown.add(module);
                    continue;
                }
                Tensor a = e.getValue().a(), b = e.getValue().b();
                int rank = (int) a.size(0);
                // llama.cpp applies alpha / rank; fold PEFT's own scale in where it differs
                double ratio = adapter.scale(module) / (alpha / rank);
                if (Math.abs(ratio - 1) > 1e-12) {
                    b = b.mul(ratio);
                    folded++;
                }
                if (arch.equals("llama") && name.endsWith(".attn_q")) b = permuteRows(b, cfg.numHeads());
                if (arch.equals("llama") && name.endsWith(".attn_k")) b = permuteRows(b, cfg.numKvHeads());
                w.addTensor(name + ".weight.lora_a", type, a.shape(), bytes(a, dtype));
                w.addTensor(name + ".weight.lora_b", type, b.shape(), bytes(b, dtype));
            }
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException(adapterDir + ": " + unknown.size() + " modules have no GGUF tensor name (" + String.join(", ",
                        unknown.subList(0, Math.min(3, unknown.size()))) + "); llama.cpp adapters cover the attention and MLP projections and lm_head");
            }
            w.write(output);
            return new Report(arch, adapter.modules().size(), alpha, folded);
        }
    }

    /** The GGUF architecture of an HF model_type (those this project loads). */
    static String architecture(String modelType) {
        return switch (modelType) {
            case "llama", "mistral" -> "llama";
            case "qwen2" -> "qwen2";
            default -> throw new IllegalArgumentException("model_type " + modelType + " has no GGUF export here (llama, mistral, qwen2)");
        };
    }

    /** HF module path (PEFT's, without base_model.model.) → GGUF tensor name without {@code .weight}, or null. */
    static String ggufName(String module) {
        if (module.equals("lm_head")) return "output";
        Matcher m = LAYER.matcher(module);
        if (!m.matches()) return null;
        String t = switch (m.group(3)) {
            case "q_proj" -> "attn_q";
            case "k_proj" -> "attn_k";
            case "v_proj" -> "attn_v";
            case "o_proj" -> "attn_output";
            case "gate_proj" -> "ffn_gate";
            case "up_proj" -> "ffn_up";
            case "down_proj" -> "ffn_down";
            default -> null;
        };
        return t == null ? null : "blk." + m.group(1) + "." + t;
    }

    /**
     * convert_hf_to_gguf's LlamaModel.permute on the rows (outputs) of a (out, r) matrix:
     * reshape(heads, 2, out / heads / 2, r).swapaxes(1, 2).reshape(out, r).
     */
    static Tensor permuteRows(Tensor b, int heads) {
        long out = b.size(0), r = b.size(1);
        if (out % (2L * heads) != 0) throw new IllegalArgumentException("cannot split " + out + " rows into " + heads + " heads of rotary pairs");
        return b.reshape(heads, 2, out / heads / 2, r).transpose(1, 2).contiguous().reshape(out, r);
    }

    private static byte[] bytes(Tensor t, DType dtype) {
        Tensor c = t.to(dtype, Device.CPU).contiguous();
        long n = c.numel() * dtype.byteSize;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(n, 1), 8).asSlice(0, n);
            c.copyTo(seg);
            return seg.toArray(ValueLayout.JAVA_BYTE);
        }
    }
}
