package org.lorascripts.text.clip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lorascripts.io.Json;

/**
 * CLIP's BPE tokenizer, the tokenizer of the SD 1.x text encoder and (same merges, pad id 0) of the
 * OpenCLIP encoders of SD 2.x and SDXL. Ids equal Hugging Face's {@code CLIPTokenizer} (checked
 * against a committed fixture made by {@code tools/fixtures/make_clip_tokenizer_fixture.py}).
 *
 * <p>Reference: openai/CLIP {@code clip/simple_tokenizer.py}; transformers
 * {@code models/clip/tokenization_clip.py}. Thread-safe.
 */
public final class ClipTokenizer {
    /** Tokens a CLIP text encoder sees at once: BOS + 75 + EOS. */
    public static final int MODEL_MAX_LENGTH = 77;
    /** The pad id of SD 2.x and SDXL's second encoder (their tokenizer pads with "!", id 0). */
    public static final int OPENCLIP_PAD_ID = 0;

    private final ClipVocabulary vocab;
    private final ClipPreTokenizer preTokenizer;
    private final BytePairEncoder bpe;
    private final int startOfText;
    private final int endOfText;
    private final int padId;

    private ClipTokenizer(ClipVocabulary vocab, BytePairEncoder bpe, int padId) {
        this.vocab = vocab;
        this.startOfText = vocab.id(ClipVocabulary.START_OF_TEXT);
        this.endOfText = vocab.id(ClipVocabulary.END_OF_TEXT);
        this.bpe = bpe;
        this.padId = checkId(padId, vocab.size());
        String pad = vocab.token(padId);
        /*
         * transformers registers every declared special token, the pad included, as an added token
         * matched in the raw text. SD 2.x / SDXL declare "!" (id 0) as pad, so with their tokenizer
         * a "!" in a caption encodes as 0, not as "!</w>" (256). We match that.
         */
        this.preTokenizer = padId == startOfText || padId == endOfText || pad == null
                ? new ClipPreTokenizer(new String[] {ClipVocabulary.START_OF_TEXT, ClipVocabulary.END_OF_TEXT},
                        new int[] {startOfText, endOfText})
                : new ClipPreTokenizer(new String[] {ClipVocabulary.START_OF_TEXT, ClipVocabulary.END_OF_TEXT, pad},
                        new int[] {startOfText, endOfText, padId});
    }

    private ClipTokenizer(ClipVocabulary vocab, Integer padId) {
        this(vocab, new BytePairEncoder(vocab, vocab.id(ClipVocabulary.END_OF_TEXT)),
                padId != null ? padId : vocab.id(ClipVocabulary.END_OF_TEXT));
    }

    private static final class Bundled {
        // Parsing 49k merges takes a moment; every bundled tokenizer shares one table and cache.
        static final ClipTokenizer INSTANCE = new ClipTokenizer(ClipVocabulary.bundled(), null);
    }

    /** The merges file shipped with this project; pads with {@code <|endoftext|>} (SD 1.x). */
    public static ClipTokenizer bundled() {
        return Bundled.INSTANCE;
    }

    /** A Hugging Face tokenizer's {@code vocab.json} and {@code merges.txt}; pads with {@code <|endoftext|>}. */
    public static ClipTokenizer fromFiles(Path vocabJson, Path mergesTxt) throws IOException {
        return new ClipTokenizer(ClipVocabulary.fromHuggingFaceFiles(vocabJson, mergesTxt), null);
    }

    /** {@link #fromDiffusersFolder(Path, String)} with the {@code tokenizer} subfolder. */
    public static ClipTokenizer fromDiffusersFolder(Path modelFolder) throws IOException {
        return fromDiffusersFolder(modelFolder, "tokenizer");
    }

    /**
     * The tokenizer of a diffusers model folder ({@code subfolder} is {@code tokenizer} or, for
     * SDXL's second encoder, {@code tokenizer_2}). Its {@code vocab.json} + {@code merges.txt} win
     * when both are present; otherwise the bundled merges are used. The pad token comes from the
     * folder's {@code tokenizer_config.json} or {@code special_tokens_map.json} when one names it
     * (SD 2.x says "!"), else {@code <|endoftext|>}.
     */
    public static ClipTokenizer fromDiffusersFolder(Path modelFolder, String subfolder) throws IOException {
        return fromDiffusersFolder(modelFolder, subfolder, null);
    }

    /**
     * {@link #fromDiffusersFolder(Path, String)}, padding with {@code defaultPadId} when the folder
     * (or its config files) does not name a pad token: SDXL's second encoder pads with "!" (id 0)
     * even when {@code tokenizer_2/} is incomplete. Null keeps {@code <|endoftext|>}.
     */
    public static ClipTokenizer fromDiffusersFolder(Path modelFolder, String subfolder, Integer defaultPadId) throws IOException {
        Path dir = modelFolder.resolve(subfolder);
        Path vocabJson = dir.resolve("vocab.json");
        Path mergesTxt = dir.resolve("merges.txt");
        ClipTokenizer base = Files.isRegularFile(vocabJson) && Files.isRegularFile(mergesTxt)
                ? fromFiles(vocabJson, mergesTxt)
                : bundled();
        String pad = padTokenNamedIn(dir.resolve("tokenizer_config.json"));
        if (pad == null) pad = padTokenNamedIn(dir.resolve("special_tokens_map.json"));
        if (pad == null) return defaultPadId == null ? base : base.withPadId(defaultPadId);
        int id = base.vocab.id(pad);
        if (id < 0) throw new IOException(dir + ": pad token \"" + pad + "\" is not in the vocabulary");
        return base.withPadId(id);
    }

    /** {@code pad_token} of a tokenizer config: a string, or an object with a "content" string. */
    private static String padTokenNamedIn(Path config) throws IOException {
        if (!Files.isRegularFile(config)) return null;
        JsonNode pad = Json.read(config).path("pad_token");
        return pad.isObject() ? pad.path("content").textValue() : pad.textValue();  // null for any other shape
    }

    /**
     * This tokenizer padding with {@code padId}, sharing the vocabulary and cache. As in
     * transformers, the pad token becomes special: its exact spelling in a text encodes as
     * {@code padId} (for SD 2.x's "!", 0).
     */
    public ClipTokenizer withPadId(int padId) {
        return padId == this.padId ? this : new ClipTokenizer(vocab, bpe, padId);
    }

    public int startOfTextId() {
        return startOfText;
    }

    public int endOfTextId() {
        return endOfText;
    }

    public int padId() {
        return padId;
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** The token string of an id ("a</w>", "<|endoftext|>"). */
    public String token(int id) {
        String t = vocab.token(id);
        if (t == null) throw new IllegalArgumentException("token id " + id + " has no token in this vocabulary");
        return t;
    }

    /** Token ids of {@code text}, without BOS/EOS and without truncation. */
    public int[] encode(String text) {
        IntList out = new IntList();
        for (ClipPreTokenizer.Piece p : preTokenizer.pieces(text)) {
            if (p.isSpecial()) out.add(p.specialId());
            else out.addAll(bpe.encode(p.text()));
        }
        return out.toArray();
    }

    /** {@code encodeForModel(text, 77, padId())}. */
    public int[] encodeForModel(String text) {
        return encodeForModel(text, MODEL_MAX_LENGTH, padId);
    }

    /**
     * BOS + the first {@code maxLength - 2} tokens + EOS, then {@code padId} up to {@code maxLength}:
     * HF's {@code tokenizer(text, padding="max_length", truncation=True, max_length=maxLength)}.
     * Only the padding uses {@code padId}; the text is tokenized as by {@link #encode}.
     */
    public int[] encodeForModel(String text, int maxLength, int padId) {
        if (maxLength < 2) throw new IllegalArgumentException("maxLength " + maxLength + " leaves no room for BOS and EOS");
        checkId(padId, vocab.size());
        int[] tokens = encode(text);
        int n = Math.min(tokens.length, maxLength - 2);
        int[] ids = new int[maxLength];
        ids[0] = startOfText;
        System.arraycopy(tokens, 0, ids, 1, n);
        ids[n + 1] = endOfText;
        java.util.Arrays.fill(ids, n + 2, maxLength, padId);
        return ids;
    }

    /**
     * kohya's long-prompt chunks for {@code max_token_length} (75, 150, 225, ...), padded with
     * {@link #padId()}: see {@link LongPromptChunker}. Shape {@code [maxTokenLength / 75][77]}.
     */
    public int[][] encodeChunks(String text, int maxTokenLength) {
        return LongPromptChunker.chunks(this, text, maxTokenLength);
    }

    /**
     * Text of token ids as HF's {@code decode}: byte symbols back to UTF-8 (invalid sequences become
     * U+FFFD), special tokens spelled out, {@code </w>} to a space, ends trimmed. Word boundaries
     * come back as spaces, so punctuation is spaced out ("a cat , sitting").
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            String t = token(id);
            if (id == startOfText || id == endOfText) {
                bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < t.length(); i++) {
                int b = ByteLevelAlphabet.byteOf(t.charAt(i));
                if (b < 0) throw new IllegalArgumentException("token " + id + " \"" + t + "\" is not made of byte symbols");
                bytes.write(b);
            }
        }
        String text = bytes.toString(StandardCharsets.UTF_8).replace(ClipVocabulary.END_OF_WORD, " ");
        return text.strip();
    }

    private static int checkId(int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) throw new IllegalArgumentException("token id " + id + " is outside 0.." + (vocabSize - 1));
        return id;
    }

    /** Growable int buffer, to avoid boxing every token id. */
    private static final class IntList {
        private int[] a = new int[32];
        private int n;

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        void addAll(int[] vs) {
            if (n + vs.length > a.length) a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + vs.length));
            System.arraycopy(vs, 0, a, n, vs.length);
            n += vs.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
