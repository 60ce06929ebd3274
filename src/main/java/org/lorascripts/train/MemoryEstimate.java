package org.lorascripts.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.Json;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.Nf4;

/**
 * A rough (±30 %) estimate of peak device memory for the dry run, from the base model's parameter
 * count (read from safetensors headers, nothing loaded) and activation sizes fitted to PyTorch
 * measurements on an H200 (shared/bench): SD1.5 UNet LoRA at 512², batch 4, fp16: 6.8 GiB plain,
 * 3.0 GiB with gradient checkpointing; Llama-3.2-1B / Llama-3-8B at 2048 tokens, bf16: 8.7 / 29.1 GiB
 * plain, 6.0 / 19.2 GiB with checkpointing. With {@code load_in_4bit} the decoder's linear weights count
 * as NF4 ({@link Nf4#bytes}, about 0.52 bytes each) and with {@code load_in_8bit} one byte each, the rest in the compute
 * dtype; with {@code fp8_base} the
 * linear and convolution weights of the UNet's blocks and the text encoders' linear weights count one byte each.
 */
public record MemoryEstimate(double weightsGiB, double activationsGiB, double adapterGiB, String basis) {
    private static final double GIB = 1L << 30;

    public double totalGiB() { return weightsGiB + activationsGiB + adapterGiB; }

    public String describe() {
        return String.format(Locale.ROOT, "~%.1f GiB (weights %.1f, activations %.1f, LoRA + optimizer %.2f; %s)",
                totalGiB(), weightsGiB, activationsGiB, adapterGiB, basis);
    }

    public static Optional<MemoryEstimate> of(TrainConfig c) {
        if (!(c.model().baseModel() instanceof BaseModel.Local local) || !Files.exists(local.path())) return Optional.empty();
        try {
            long[] counts = parameterCounts(local.path());
            long params = counts[0];
            if (params <= 0) return Optional.empty();
            boolean half = c.loop().mixedPrecision() != MixedPrecision.NO;
            boolean nf4 = !c.isImage() && c.model().loadIn4bit();
            boolean int8 = !c.isImage() && c.model().loadIn8bit();
            boolean fp8 = c.isImage() && c.model().fp8Base();
            double weights = nf4 ? ((params - counts[1]) * (half ? 2.0 : 4.0) + counts[2]) / GIB
                    : int8 ? ((params - counts[1]) * (half ? 2.0 : 4.0) + counts[1]) / GIB
                    : fp8 ? ((params - counts[3]) * (half ? 2.0 : 4.0) + counts[3]) / GIB
                    : params * (half ? 2.0 : 4.0) / GIB;
            double loraParams = params * 0.003 * c.lora().rank() / 8.0;  // kohya targets at rank 8 ≈ 0.3 % of SD1.5
            double adapter = loraParams * 16 / GIB;                    // fp32 weight, grad and two Adam moments
            boolean gc = c.loop().gradientCheckpointing();
            if (c.isImage()) {
                var r = c.image().resolution();
                double pixels = (double) r.width() * r.height() / (512.0 * 512.0);
                double perSample = (gc ? 0.28 : 1.22) * pixels * (half ? 1 : 2);
                return Optional.of(new MemoryEstimate(weights, perSample * c.loop().batchSize(), adapter,
                        "fitted to SD1.5 at 512x512" + (fp8 ? "; UNet blocks and text encoders as fp8" : "")));
            }
            Optional<long[]> dims = llmDims(local.path());  // hidden, layers, vocab
            if (dims.isEmpty()) return Optional.of(new MemoryEstimate(weights, 0, adapter, "activations unknown: no config.json"));
            long hidden = dims.get()[0], layers = dims.get()[1], vocab = dims.get()[2];
            double tokens = (double) c.loop().batchSize() * c.text().maxSeqLen();
            double logits = tokens * vocab * 8 / GIB;  // fp32 logits and their gradient
            double act = gc ? tokens * hidden * layers * 2 / GIB + tokens * hidden * 50 / GIB + logits
                            : tokens * hidden * layers * 50 / GIB + logits;
            return Optional.of(new MemoryEstimate(weights, act, adapter, "fitted to Llama 1B/8B at 2048 tokens"
                    + (nf4 ? "; decoder linear weights as 4-bit NF4" : int8 ? "; decoder linear weights as 8-bit float" : "")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    static long parameterCount(Path model) throws IOException { return parameterCounts(model)[0]; }

    /** A decoder linear layer's weight (q/k/v/o, gate/up/down of a Llama-family model), which load_in_4bit quantises. */
    static boolean isDecoderLinear(String name, TensorInfo t) {
        return t.shape().length == 2 && name.matches("(.*\\.)?layers\\.\\d+\\.(self_attn|mlp)\\.[a-z_]+_proj\\.weight");
    }

    /**
     * A weight that fp8_base stores as fp8: a linear (2-D) or convolution (4-D) weight of the UNet's down, mid or up
     * blocks, under an LDM file's {@code model.diffusion_model.} (input_blocks but the first, middle_block,
     * output_blocks) or a diffusers folder's {@code unet/} (down_blocks, mid_block, up_blocks; {@code folder} "unet"),
     * or a text encoder's 2-D weight but its embeddings, under {@code cond_stage_model.} / {@code conditioner.embedders.}
     * or a diffusers folder's {@code text_encoder/} and {@code text_encoder_2/}.
     */
    static boolean isFp8Weight(String name, TensorInfo t, String folder) {
        int rank = t.shape().length;
        boolean textEncoder = folder.startsWith("text_encoder") || name.startsWith("cond_stage_model.") || name.startsWith("conditioner.embedders.");
        if (textEncoder) return rank == 2 && !name.contains("embedding");
        if (!name.endsWith(".weight") || (rank != 2 && rank != 4)) return false;
        if (folder.equals("unet")) return name.startsWith("down_blocks.") || name.startsWith("mid_block.") || name.startsWith("up_blocks.");
        String ldm = "model.diffusion_model.";
        if (!name.startsWith(ldm)) return false;
        String n = name.substring(ldm.length());
        return n.startsWith("input_blocks.") && !n.startsWith("input_blocks.0.") || n.startsWith("middle_block.") || n.startsWith("output_blocks.");
    }

    /** {all parameters, decoder linear weights, bytes of those weights as NF4, weights fp8_base stores as fp8}. */
    static long[] parameterCounts(Path model) throws IOException {
        List<Path> files;
        if (Files.isDirectory(model)) {
            try (Stream<Path> s = Files.walk(model, 2)) {
                files = s.filter(p -> p.toString().endsWith(".safetensors") && !p.toString().endsWith(".fp16.safetensors")
                        || p.toString().endsWith(".safetensors.index.json")).toList();
            }
            // A sharded index stands for its shards: count it instead of them.
            List<Path> indexes = files.stream().filter(p -> p.toString().endsWith(".json")).toList();
            if (!indexes.isEmpty()) files = indexes;
        } else {
            files = List.of(model);
        }
        long n = 0, linear = 0, nf4Bytes = 0, fp8 = 0;
        for (Path f : files) {
            String folder = Files.isDirectory(model) && f.getParent() != null && f.getParent().getFileName() != null
                    ? f.getParent().getFileName().toString() : "";
            try (TensorSource src = TensorSource.open(f)) {
                for (String name : src.names()) {
                    TensorInfo t = src.info(name);
                    n += t.numel();
                    if (isFp8Weight(name, t, folder)) fp8 += t.numel();
                    if (isDecoderLinear(name, t)) {
                        linear += t.numel();
                        nf4Bytes += Nf4.bytes(t.numel());
                    }
                }
            }
        }
        return new long[] {n, linear, nf4Bytes, fp8};
    }

    private static Optional<long[]> llmDims(Path model) throws IOException {
        Path cfg = Files.isDirectory(model) ? model.resolve("config.json") : model.resolveSibling("config.json");
        if (!Files.exists(cfg)) return Optional.empty();
        JsonNode o = Json.read(cfg);
        if (!o.isObject()) return Optional.empty();
        long hidden = number(o.get("hidden_size")), layers = number(o.get("num_hidden_layers")), vocab = number(o.get("vocab_size"));
        return hidden > 0 && layers > 0 && vocab > 0 ? Optional.of(new long[] {hidden, layers, vocab}) : Optional.empty();
    }

    /** Lenient on purpose: an estimate does without a size it cannot read (0 leaves the estimate out). */
    private static long number(JsonNode v) {
        return v != null && v.isNumber() ? v.longValue() : 0;
    }
}
