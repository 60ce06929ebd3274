package org.lorascripts.models.blip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * BLIP image captioning (HF {@code BlipForConditionalGeneration}): {@link BlipVisionModel} turns the
 * image into embeddings, {@link BlipTextLMHeadModel} decodes a caption attending to them. Weights under
 * HF's names ({@code vision_model.*}, {@code text_decoder.*}). Reference:
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/blip/modeling_blip.py
 * (BlipForConditionalGeneration.forward and .generate).
 *
 * <p>Generation follows HF's generate: the decoder input is {@code [bos_token_id ([DEC])] + prefix}
 * (the processor's [CLS] is overwritten with [DEC] and its trailing [SEP] dropped), decoding stops at
 * {@code sep_token_id}, and {@code maxLength} counts every token of the sequence, prefix included.
 */
public final class BlipForConditionalGeneration implements AutoCloseable {
    private final BlipConfig cfg;
    private final Weights weights;
    private final BlipVisionModel vision;
    private final BlipTextLMHeadModel text;

    public BlipForConditionalGeneration(Weights w, BlipConfig cfg) {
        this.cfg = cfg;
        this.weights = w;
        this.vision = new BlipVisionModel(w.pp("vision_model"), cfg.vision());
        this.text = new BlipTextLMHeadModel(w.pp("text_decoder"), cfg.text());
    }

    /** Loads an HF folder: config.json and model.safetensors (or a sharded model.safetensors.index.json). */
    public static BlipForConditionalGeneration load(Path dir, Device device, DType dtype) throws IOException {
        BlipConfig cfg = BlipConfig.fromHfConfig(dir.resolve("config.json"));
        Path file = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(file)) file = dir.resolve("model.safetensors.index.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + " has no model.safetensors: save the BLIP model with save_pretrained(safe_serialization=True)"
                    + " or download the safetensors weights of the HF repository");
        }
        // weights are copied out of the mapping, so the file can be closed once the model is built
        try (TensorSource source = TensorSource.open(file)) {
            return build(new CheckpointWeights(source, file.toString()), cfg, device, dtype);
        }
    }

    /** Deterministic random weights of the given shape (tests, benchmarks). */
    public static BlipForConditionalGeneration random(BlipConfig cfg, long seed, Device device, DType dtype) {
        return build(new RandomWeights(seed, name -> 0.05), cfg, device, dtype);
    }

    private static BlipForConditionalGeneration build(WeightSource source, BlipConfig cfg, Device device, DType dtype) {
        Weights w = new Weights(source, device, dtype);
        try {
            return new BlipForConditionalGeneration(w, cfg);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public BlipConfig config() { return cfg; }

    public BlipVisionModel vision() { return vision; }

    public BlipTextLMHeadModel text() { return text; }

    /** Every weight by HF name (e.g. to save a built model as model.safetensors). */
    public java.util.Map<String, Tensor> namedWeights() { return weights.loadedTensors(); }

    public Device device() { return weights.device(); }

    public DType dtype() { return weights.dtype(); }

    /** pixels (B, 3, S, S), normalised as BlipImageProcessor does → image_embeds (B, N + 1, Dv). */
    public Tensor imageEmbeds(Tensor pixels) { return vision.forward(pixels.to(weights.dtype(), weights.device())); }

    /** Teacher-forced decoder logits (B, T, V) of ids (B, T) on the images: HF's {@code forward(...).logits}. */
    public Tensor logits(Tensor pixels, Tensor ids) { return text.logits(ids.to(DType.I64, weights.device()), imageEmbeds(pixels), null); }

    /** The decoder start: {@code [bos] + prefix}. */
    public long[] decoderStart(long[] prefixIds) {
        long[] start = new long[prefixIds.length + 1];
        start[0] = cfg.text().bosTokenId();
        System.arraycopy(prefixIds, 0, start, 1, prefixIds.length);
        return start;
    }

    /** Greedy decoding with the KV cache; see {@link #generateGreedy(Tensor, long[], int, boolean)}. */
    public long[][] generateGreedy(Tensor pixels, long[] prefixIds, int maxLength) {
        return generateGreedy(pixels, prefixIds, maxLength, true);
    }

    /**
     * HF's greedy generate: per image, {@code [bos] + prefix} followed by the argmax tokens up to and
     * including the first [SEP], or until the sequence holds {@code maxLength} tokens. Rows that finished
     * early are padded with pad_token_id to the longest row, as HF does. Without the cache every step
     * recomputes the whole sequence (the reference the cache is tested against).
     */
    public long[][] generateGreedy(Tensor pixels, long[] prefixIds, int maxLength, boolean useCache) {
        long[] start = decoderStart(prefixIds);
        int b = (int) pixels.size(0);
        int sep = cfg.text().sepTokenId(), pad = cfg.text().padTokenId();
        long[][] seq = new long[b][];
        for (int i = 0; i < b; i++) seq[i] = Arrays.copyOf(start, Math.max(maxLength, start.length));
        int len = start.length;
        boolean[] done = new boolean[b];
        try (var ng = Autograd.noGrad(); Scope outer = Scope.open();
             BlipTextCache cache = useCache ? text.newCache() : null) {
            // 1. the image embeddings, once: (B, N + 1, Dv)
            Tensor image = imageEmbeds(pixels);
            while (len < maxLength) {
                long[] next;
                try (Scope s = Scope.open()) {
                    // 2. feed the uncached tokens: the whole start first, then one token per step
                    int from = cache == null ? 0 : (int) cache.length();
                    Tensor ids = tokens(seq, from, len);                                       // (B, T)
                    Tensor logits = text.logits(ids, image, cache);                            // (B, T, V)
                    // 3. argmax of the last position (torch's first-on-ties rule)
                    next = logits.select(1, len - from - 1).to(DType.F32).argmax(-1, false).toLongArray();   // (B)
                }
                boolean all = true;
                for (int i = 0; i < b; i++) {
                    seq[i][len] = done[i] ? pad : next[i];
                    if (!done[i] && next[i] == sep) done[i] = true;
                    all &= done[i];
                }
                len++;
                if (all) break;
            }
        }
        for (int i = 0; i < b; i++) seq[i] = Arrays.copyOf(seq[i], len);
        return seq;
    }

    /** Beam search as HF's generate(num_beams=k) with length_penalty {@code lengthPenalty} and early_stopping False. */
    public long[][] generateBeam(Tensor pixels, long[] prefixIds, int maxLength, int beams, double lengthPenalty) {
        if (beams <= 1) return generateGreedy(pixels, prefixIds, maxLength);
        return new BlipBeamSearch(this, beams, lengthPenalty).generate(pixels, decoderStart(prefixIds), maxLength);
    }

    /** Rows' tokens [from, to) as an I64 (B, T) tensor on the model's device. */
    Tensor tokens(long[][] seq, int from, int to) {
        int b = seq.length, t = to - from;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) System.arraycopy(seq[i], from, flat, i * t, t);
        return Torch.of(flat, b, t).to(weights.device());
    }

    @Override public void close() { weights.close(); }

    /** Writes the weights of this model under their HF names (tests and the tiny fixture folder). */
    public void saveWeights(Path file) {
        try {
            org.lorascripts.io.TensorIO.save(file, namedWeights(), java.util.Map.of("format", "pt"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
