package org.lorascripts.models.sd.clip;

import java.util.List;
import java.util.OptionalInt;
import org.lorascripts.nn.WeightSource;

/**
 * A CLIP text encoder's shape as its tensors give it, read through HF names (a {@link ClipTextWeights}
 * answers them whatever the layout): width and vocabulary from the token embedding, positions from
 * the position table, layers by counting them (OpenCLIP's {@code resblocks}), MLP width from the first
 * fc1, heads by CLIP's 64 channels per head, and whether there is a {@code text_projection} (and its
 * width). What the tensors cannot say (activation, layer-norm eps, special ids and padding) comes from
 * {@code preset}, the encoder the checkpoint family ships.
 *
 * @param projectionDim out-features of {@code text_projection.weight}; empty without a projection
 */
public record ClipTextDims(ClipTextConfig config, OptionalInt projectionDim) {
    /** Larger than any width, channel count or vocabulary of an SD model; bounds what a header may claim. */
    static final long MAX_DIM = 1 << 20;
    /** More than any CLIP tower (OpenCLIP bigG has 32); bounds the probe. */
    private static final int MAX_LAYERS = 256;

    private static final String TOKEN = "text_model.embeddings.token_embedding.weight";
    private static final String POSITION = "text_model.embeddings.position_embedding.weight";
    private static final String FC1 = "text_model.encoder.layers.0.mlp.fc1.weight";

    /**
     * @param label names the checkpoint in errors
     * @param notes collects one line per assumption the tensors could not confirm (heads of a
     *              non-standard width); null to drop them
     */
    public static ClipTextDims infer(WeightSource hf, ClipTextConfig preset, String label, List<String> notes) {
        long[] tok = hf.shape(TOKEN).orElseThrow(() -> new IllegalArgumentException(label + ": the text encoder has no token embedding"));
        if (tok.length != 2) throw new IllegalArgumentException(label + ": " + TOKEN + " has " + tok.length + " dimensions; expected 2");
        int vocab = bounded(label, TOKEN, tok[0]), hidden = bounded(label, TOKEN, tok[1]);
        if (vocab < preset.vocabSize()) {
            throw new UnsupportedOperationException(label + ": the text encoder's vocabulary has " + vocab + " tokens, fewer than the "
                    + preset.vocabSize() + " of the CLIP tokenizer that feeds it; use a checkpoint with a standard CLIP text encoder");
        }
        int positions = hf.shape(POSITION).map(s -> bounded(label, POSITION, s[0])).orElse(preset.maxPositions());
        int layers = 0;
        while (layers < MAX_LAYERS && hf.shape("text_model.encoder.layers." + layers + ".mlp.fc1.weight").isPresent()) layers++;
        if (layers == 0) throw new IllegalArgumentException(label + ": the text encoder has no layers (text_model.encoder.layers.0.*)");
        int intermediate = bounded(label, FC1, hf.shape(FC1).orElseThrow()[0]);
        int heads = hidden % 64 == 0 ? hidden / 64 : largestDivisorUpTo(hidden, 8);
        if (hidden != preset.hidden()) {
            String line = "text encoder of width " + hidden + ": " + heads + (heads == 1 ? " attention head" : " attention heads") + " assumed ("
                    + (hidden % 64 == 0 ? "CLIP's 64 channels per head" : "the most up to 8 that divide it") + ")";
            if (notes != null && !notes.contains(line)) notes.add(line);
        }
        ClipTextConfig cfg = new ClipTextConfig(vocab, hidden, intermediate, layers, heads, positions, preset.activation(), preset.eps(),
                preset.bosTokenId(), preset.eosTokenId(), preset.padTokenId());
        return new ClipTextDims(cfg, projectionDim(hf, label));
    }

    /** Out-features of {@code text_projection.weight} (HF's (P, D) orientation), or empty when there is none. */
    public static OptionalInt projectionDim(WeightSource hf, String label) {
        return hf.shape(ClipTextWeights.TEXT_PROJECTION)
                .map(s -> OptionalInt.of(bounded(label, ClipTextWeights.TEXT_PROJECTION, s[0])))
                .orElse(OptionalInt.empty());
    }

    private static int bounded(String label, String name, long v) {
        if (v < 1 || v > MAX_DIM) throw new IllegalArgumentException(label + ": " + name + " claims a dimension of " + v + "; the file is damaged or not an SD checkpoint");
        return (int) v;
    }

    static int largestDivisorUpTo(int n, int max) {
        for (int h = Math.min(max, n); h > 1; h--) if (n % h == 0) return h;
        return 1;
    }
}
