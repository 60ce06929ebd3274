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
 * A rough (±30 %) estimate of this trainer's peak device memory for the dry run, from the base model's parameter
 * counts (read from safetensors headers, nothing loaded) and, for text models, the layer sizes in config.json.
 *
 * <p>Images: the weights on the device while training (the UNet; the text encoders while they train or captions
 * change from epoch to epoch, else their outputs are cached and they are freed; the fp32 VAE while sample prompts or
 * uncached latents need it) and activations per 512² pixels of a batch's images, fitted to our own steps on an H200
 * (SD1.5 at batch 4 in fp16: 0.77 GiB per image plain, 0.19 with gradient checkpointing; SDXL at 1024²: 1.40 and 0.19
 * per 512² of pixels; bench/results/2026-12-04d and sdxl/2026-12-04b). Latent and text caching runs before the UNet
 * loads, with the encoders and the VAE only.
 *
 * <p>Text: what backward keeps per decoder layer and token (two residual-stream copies, the normed input, q, k, v and
 * the attention output, gate and up: {@code 5 h + 2 kv + 2 I} values), or with gradient checkpointing one hidden
 * state per layer plus one layer recomputed; the fused LM head's chunk (at most 128 MiB of fp32 logits, held 1.5
 * times) and one layer's backward temporaries. That arithmetic gives 21.7 GiB for Llama-3-8B at 2048 tokens; our H200
 * run peaked at 21.76 GiB (bench/results/2026-12-05-h200.jsonl).
 *
 * <p>With {@code load_in_4bit} the decoder's linear weights count as NF4 ({@link Nf4#bytes}, about 0.52 bytes each)
 * and with {@code load_in_8bit} one byte each, the rest in the compute dtype; with {@code fp8_base} the linear and
 * convolution weights of the UNet's blocks and the text encoders' linear weights count one byte each. The CUDA
 * context and the allocator's reserve come on top (about 0.3 GiB above the allocated peak in our runs).
 */
public record MemoryEstimate(double weightsGiB, double activationsGiB, double adapterGiB, String basis) {
    private static final double GIB = 1L << 30;

    public double totalGiB() { return weightsGiB + activationsGiB + adapterGiB; }

    public String describe() {
        return String.format(Locale.ROOT, "~%.1f GiB (weights %.1f, activations %.1f, LoRA + optimizer %.2f; %s)",
                totalGiB(), weightsGiB, activationsGiB, adapterGiB, basis);
    }

    /**
     * A warning when this estimate passes a device's memory ({@code deviceGiB}, e.g. "GPU 0 (NVIDIA GeForce RTX 4070,
     * 11.6 GiB)"), with the config's own levers that would lower it, in the order they save most; empty when it fits.
     */
    public Optional<String> deviceWarning(TrainConfig c, String device, double deviceGiB) {
        if (totalGiB() <= deviceGiB) return Optional.empty();
        List<String> fixes = new java.util.ArrayList<>();
        if (!c.loop().gradientCheckpointing()) fixes.add("gradient_checkpointing: true");
        if (c.isImage() && !c.model().fp8Base()) fixes.add("fp8_base: true");
        if (!c.isImage() && !c.model().loadIn4bit()) fixes.add("load_in_4bit: true");
        if (c.loop().mixedPrecision() == MixedPrecision.NO) fixes.add("mixed_precision: bf16 (or fp16)");
        if (!c.isImage() && !c.loop().gradientCheckpointing() && !c.loop().recomputeAttention()) fixes.add("recompute_attention: true");
        if (c.loop().batchSize() > 1) fixes.add("a smaller batch_size with gradient_accumulation_steps for the same effective batch");
        fixes.add(c.isImage() ? "a lower resolution" : "a lower max_seq_len");
        return Optional.of(String.format(Locale.ROOT, "the memory estimate (~%.1f GiB) is above %s with %.1f GiB: the run may stop"
                + " out of memory; to need less: %s", totalGiB(), device, deviceGiB, String.join(", ", fixes)));
    }

    /** Per image of 512² pixels at 16 bits, GiB: {plain, gradient checkpointing}, SD 1.x/2.x and SDXL. */
    static final double[] SD_PER_IMAGE = {0.77, 0.19}, SDXL_PER_IMAGE = {1.40, 0.19};

    /** The largest fp32 logits chunk of the fused LM head (LlamaForCausalLM's bound). */
    static final double HEAD_CHUNK_BYTES = 128L << 20;

    public static Optional<MemoryEstimate> of(TrainConfig c) {
        if (!(c.model().baseModel() instanceof BaseModel.Local local) || !Files.exists(local.path())) return Optional.empty();
        try {
            Counts k = parameterCounts(local.path());
            if (k.all() <= 0) return Optional.empty();
            boolean half = c.loop().mixedPrecision() != MixedPrecision.NO;
            double b = half ? 2.0 : 4.0;
            boolean gc = c.loop().gradientCheckpointing();
            double loraParams = k.all() * 0.003 * c.lora().rank() / 8.0;  // kohya targets at rank 8 ≈ 0.3 % of SD1.5
            double adapter = loraParams * 16 / GIB;                      // fp32 weight, grad and two Adam moments
            if (c.isImage()) return Optional.of(image(c, k, b, gc, adapter));
            boolean nf4 = c.model().loadIn4bit(), int8 = c.model().loadIn8bit();
            double weights = nf4 ? ((k.all() - k.decoderLinear()) * b + k.nf4Bytes()) / GIB
                    : int8 ? ((k.all() - k.decoderLinear()) * b + k.decoderLinear()) / GIB
                    : k.all() * b / GIB;
            Optional<LlmDims> dims = llmDims(local.path());
            if (dims.isEmpty()) return Optional.of(new MemoryEstimate(weights, 0, adapter, "activations unknown: no config.json"));
            LlmDims d = dims.get();
            adapter = llmLoraParams(d, c.lora().targetModules(), c.lora().rank()) * 16 / GIB;
            double tokens = (double) c.loop().batchSize() * c.text().maxSeqLen();
            // what backward keeps: the layer input, q, the attention output, k, v, the mid residual, gate and up (and the
            // norm statistics); with the attention recomputed, only the input of its half: q, k, v and its output go
            boolean attnAgain = c.loop().recomputeAttention() && !gc;
            double perLayer = tokens * b * (attnAgain ? 3.0 * d.hidden() + 2.0 * d.intermediate()
                    : 5.0 * d.hidden() + 2.0 * d.kvWidth() + 2.0 * d.intermediate());
            double temporaries = tokens * b * 3.0 * d.intermediate();                                        // a layer's backward temporaries
            double head = 1.5 * Math.min(HEAD_CHUNK_BYTES, tokens * d.vocab() * 4.0);
            double dropoutMasks = c.lora().dropout() > 0 ? tokens * d.layers() * c.lora().targetModules().size() * d.hidden() : 0;
            double act = (gc ? tokens * b * d.hidden() * d.layers() + perLayer : perLayer * d.layers()) + temporaries + head + dropoutMasks;
            return Optional.of(new MemoryEstimate(weights, act / GIB, adapter, "saved activations of our decoder layers at "
                    + (long) tokens + " tokens" + (attnAgain ? ", attention recomputed" : "") + (nf4 ? "; decoder linear weights as 4-bit NF4" : int8 ? "; decoder linear weights as 8-bit float" : "")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static MemoryEstimate image(TrainConfig c, Counts k, double b, boolean gc, double adapter) {
        boolean fp8 = c.model().fp8Base();
        var img = c.image();
        boolean captionsChange = img.captionDropoutRate() > 0 || img.shuffleCaption() || img.captionTagDropoutRate() > 0
                || c.data().subsets().stream().anyMatch(s -> s.captionDropoutRate() > 0 || s.shuffleCaption() || s.captionTagDropoutRate() > 0);
        boolean textEncoders = c.lora().trainTextEncoder() || captionsChange;
        boolean vae = !img.cacheLatents() || !c.sample().prompts().isEmpty();
        double unet = fp8 ? (k.unet() - k.unetFp8()) * b + k.unetFp8() : k.unet() * b;
        double text = fp8 ? (k.text() - k.textFp8()) * b + k.textFp8() : k.text() * b;
        double weights = unet + (textEncoders ? text : 0) + (vae ? k.vae() * 4.0 : 0);
        var r = img.resolution();
        double images = (double) r.width() * r.height() / (512.0 * 512.0) * c.loop().batchSize();
        double[] per = k.sdxl() ? SDXL_PER_IMAGE : SD_PER_IMAGE;
        double act = per[gc ? 1 : 0] * images * (b / 2.0);
        String basis = "fitted to our " + (k.sdxl() ? "SDXL" : "SD1.5") + " steps on an H200"
                + (textEncoders ? "" : "; text encoders freed once captions are cached") + (fp8 ? "; UNet blocks and text encoders as fp8" : "");
        return new MemoryEstimate(weights / GIB, act, adapter, basis);
    }

    /** LoRA parameters on the decoder's linear layers the targets name (all-linear: every one), r x (in + out) each. */
    static double llmLoraParams(LlmDims d, java.util.List<String> targets, int rank) {
        long h = d.hidden(), kv = d.kvWidth(), i = d.intermediate();
        java.util.Map<String, Long> inOut = java.util.Map.of("q_proj", h + h, "k_proj", h + kv, "v_proj", h + kv, "o_proj", h + h,
                "gate_proj", h + i, "up_proj", h + i, "down_proj", i + h);
        long perLayer = 0;
        for (var e : inOut.entrySet()) if (targets.contains("all-linear") || targets.contains(e.getKey())) perLayer += e.getValue();
        return (double) rank * perLayer * d.layers();
    }

    /** Parameter counts of a checkpoint, by part; decoder linear weights and their NF4 bytes for text models. */
    record Counts(long all, long decoderLinear, long nf4Bytes, long unet, long unetFp8, long text, long textFp8, long vae, boolean sdxl) {}

    /** The sizes an LLM's activations follow, from config.json ({@code kvWidth}: K/V heads x head width). */
    record LlmDims(long hidden, long layers, long vocab, long intermediate, long kvWidth) {}

    static long parameterCount(Path model) throws IOException { return parameterCounts(model).all(); }

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

    /**
     * The part of an image checkpoint a tensor belongs to: "unet", "text" (every text encoder), "vae", or "" for others.
     * LDM names ({@code model.diffusion_model.}, {@code cond_stage_model.} / {@code conditioner.embedders.},
     * {@code first_stage_model.}) or a diffusers folder's subfolder.
     */
    static String part(String name, String folder) {
        if (folder.equals("unet") || name.startsWith("model.diffusion_model.")) return "unet";
        if (folder.startsWith("text_encoder") || name.startsWith("cond_stage_model.") || name.startsWith("conditioner.embedders.")) return "text";
        if (folder.equals("vae") || name.startsWith("first_stage_model.")) return "vae";
        return "";
    }

    static Counts parameterCounts(Path model) throws IOException {
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
        long n = 0, linear = 0, nf4Bytes = 0, unet = 0, unetFp8 = 0, text = 0, textFp8 = 0, vae = 0;
        boolean sdxl = false;
        for (Path f : files) {
            String folder = Files.isDirectory(model) && f.getParent() != null && f.getParent().getFileName() != null
                    ? f.getParent().getFileName().toString() : "";
            try (TensorSource src = TensorSource.open(f)) {
                for (String name : src.names()) {
                    TensorInfo t = src.info(name);
                    n += t.numel();
                    boolean fp8 = isFp8Weight(name, t, folder);
                    switch (part(name, folder)) {
                        case "unet" -> {
                            unet += t.numel();
                            if (fp8) unetFp8 += t.numel();
                        }
                        case "text" -> {
                            text += t.numel();
                            if (fp8) textFp8 += t.numel();
                        }
                        case "vae" -> vae += t.numel();
                        default -> { }
                    }
                    if (folder.equals("text_encoder_2") || name.startsWith("conditioner.embedders.1.")) sdxl = true;
                    if (isDecoderLinear(name, t)) {
                        linear += t.numel();
                        nf4Bytes += Nf4.bytes(t.numel());
                    }
                }
            }
        }
        return new Counts(n, linear, nf4Bytes, unet, unetFp8, text, textFp8, vae, sdxl);
    }

    /** hidden, layers and vocabulary are needed; intermediate size and K/V heads default to 4 x hidden and every head. */
    private static Optional<LlmDims> llmDims(Path model) throws IOException {
        Path cfg = Files.isDirectory(model) ? model.resolve("config.json") : model.resolveSibling("config.json");
        if (!Files.exists(cfg)) return Optional.empty();
        JsonNode o = Json.read(cfg);
        if (!o.isObject()) return Optional.empty();
        long hidden = number(o.get("hidden_size")), layers = number(o.get("num_hidden_layers")), vocab = number(o.get("vocab_size"));
        if (hidden <= 0 || layers <= 0 || vocab <= 0) return Optional.empty();
        long intermediate = number(o.get("intermediate_size")), heads = number(o.get("num_attention_heads"));
        long kvHeads = number(o.get("num_key_value_heads")), headDim = number(o.get("head_dim"));
        if (headDim <= 0) headDim = heads > 0 ? hidden / heads : 0;
        long kvWidth = kvHeads > 0 && headDim > 0 ? kvHeads * headDim : hidden;
        return Optional.of(new LlmDims(hidden, layers, vocab, intermediate > 0 ? intermediate : 4 * hidden, kvWidth));
    }

    /** Lenient on purpose: an estimate does without a size it cannot read (0 leaves the estimate out). */
    private static long number(JsonNode v) {
        return v != null && v.isNumber() ? v.longValue() : 0;
    }
}
