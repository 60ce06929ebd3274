package org.lorascripts.models.blip;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The BERT WordPiece tokenizer of a BLIP folder ({@code tokenizer.json}, run by the HF tokenizers library
 * through DJL). BLIP's tokenizer has no end-of-sequence token, so the general {@code HfTokenizer} (which
 * requires one) does not fit; the special ids come from the model config instead. The decoder's [DEC]
 * start id is beyond bert-base-uncased's vocabulary and is never encoded or decoded here.
 */
public final class BlipTokenizer implements AutoCloseable {
    static {
        org.lorascripts.text.DjlSettings.apply();
    }

    private final HuggingFaceTokenizer tokenizer;
    private final BlipConfig.Text cfg;

    private BlipTokenizer(HuggingFaceTokenizer tokenizer, BlipConfig.Text cfg) {
        this.tokenizer = tokenizer;
        this.cfg = cfg;
    }

    public static BlipTokenizer load(Path dir, BlipConfig.Text cfg) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + " does not exist: the BLIP folder needs the fast tokenizer file tokenizer.json"
                    + " (BlipProcessor.save_pretrained writes it)");
        }
        try {
            return new BlipTokenizer(HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false)
                    .optTruncation(false).optPadding(false).build(), cfg);
        } catch (RuntimeException e) {
            throw new IOException(file + ": cannot load (" + e.getMessage() + ")", e);
        }
    }

    /** Ids of {@code text} without [CLS]/[SEP]: what BLIP's generate keeps of a prompt after its [DEC]. */
    public long[] encode(String text) {
        if (text == null || text.isBlank()) return new long[0];
        return tokenizer.encode(text, false, false).getIds();
    }

    /**
     * The text of generated ids after the {@code skip} start tokens, up to the first [SEP], without pad,
     * [DEC] or other special tokens.
     */
    public String decodeCaption(long[] ids, int skip) {
        long[] body = Arrays.stream(ids, Math.min(skip, ids.length), ids.length).toArray();
        int end = 0;
        while (end < body.length && body[end] != cfg.sepTokenId()) end++;
        long[] kept = Arrays.stream(body, 0, end)
                .filter(id -> id != cfg.padTokenId() && id != cfg.bosTokenId() && id >= 0 && id < cfg.vocabSize())
                .toArray();
        return kept.length == 0 ? "" : tokenizer.decode(kept, true).strip();
    }

    @Override public void close() { tokenizer.close(); }
}
