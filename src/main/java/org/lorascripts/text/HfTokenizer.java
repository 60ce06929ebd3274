package org.lorascripts.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A HF {@code tokenizer.json} (run by the Rust tokenizers library through DJL) plus the special
 * tokens of the model folder ({@link TokenizerSettings}).
 *
 * <p>{@link #encode} never adds special tokens, whatever the tokenizer.json post-processor says
 * (Llama 3's prepends {@code <|begin_of_text|>}): the dataset adds BOS itself, exactly once,
 * when {@link #addsBos()}. Special-token text inside the input ({@code <|im_start|>}) is still
 * recognised as one token, as in HF's {@code apply_chat_template(tokenize=True)}.
 *
 * <p>Offline: DJL is put in offline mode (the native library ships in its jar; nothing is
 * downloaded) and its EC2 usage telemetry is turned off by setting the system properties
 * {@code OPT_OUT_TRACKING=true} and {@code ai.djl.offline=true} before any DJL class loads.
 * DJL's CUDA probe runs in a child process (see {@link DjlSettings}).
 */
public final class HfTokenizer implements AutoCloseable {
    static {
        DjlSettings.apply();
    }

    private final HuggingFaceTokenizer tokenizer;
    private final TokenizerSettings settings;
    private final OptionalLong bosId;
    private final long eosId;
    private final long padId;
    private final long[] stopIds;

    private final Path dir;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, TokenizerSettings settings, Path dir) {
        this.tokenizer = tokenizer;
        this.settings = settings;
        this.dir = dir;
        Path configFile = dir.resolve(TokenizerSettings.CONFIG_FILE);
        this.bosId = settings.bosToken().map(t -> OptionalLong.of(tokenId(t, "bos_token", configFile))).orElse(OptionalLong.empty());
        List<Long> stops = new ArrayList<>();
        settings.eosToken().ifPresent(t -> stops.add(tokenId(t, "eos_token", configFile)));
        for (long id : settings.eosIds()) if (!stops.contains(id)) stops.add(id);
        if (stops.isEmpty()) {
            throw new TokenizerException(configFile + " has no 'eos_token' (and config.json no 'eos_token_id'): training"
                    + " examples need an end-of-sequence token; add \"eos_token\" to " + TokenizerSettings.CONFIG_FILE);
        }
        // tokenizer_config's eos_token is what HF's tokenizer.eos_token_id returns; config.json's list only adds stops.
        this.eosId = stops.getFirst();
        this.stopIds = stops.stream().mapToLong(Long::longValue).toArray();
        this.padId = settings.padToken().map(t -> tokenId(t, "pad_token", configFile)).orElse(eosId);
    }

    /** Loads {@code modelDir/tokenizer.json} and the optional config files beside it. */
    public static HfTokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerException(file + " does not exist; the model folder needs the HF fast tokenizer file"
                    + " (tokenizer.json), as saved by transformers' tokenizer.save_pretrained");
        }
        TokenizerSettings settings = TokenizerSettings.read(modelDir);
        HuggingFaceTokenizer t;
        try {
            // DJL pads and truncates by default; both would silently change training sequences.
            t = HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(false)
                    .optTruncation(false).optPadding(false).build();
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(file + ": cannot load (" + e.getMessage() + ")", e);
        }
        try {
            return new HfTokenizer(t, settings, modelDir);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** Token ids of {@code text}, with no BOS/EOS added; special-token text maps to its id. */
    public long[] encode(String text) {
        if (text.isEmpty()) return new long[0];
        return tokenizer.encode(text, false, false).getIds();
    }

    /**
     * Token ids of {@code text} with each token's character span [start, end) in Unicode code
     * points (the tokenizer's offsets); a token without a span (none in practice) gets [0, 0).
     */
    public record Offsets(long[] ids, int[] starts, int[] ends) {}

    public Offsets encodeWithOffsets(String text) {
        if (text.isEmpty()) return new Offsets(new long[0], new int[0], new int[0]);
        ai.djl.huggingface.tokenizers.Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
        int[] starts = new int[ids.length], ends = new int[ids.length];
        for (int i = 0; i < ids.length && spans != null && i < spans.length; i++) {
            if (spans[i] == null) continue;
            starts[i] = spans[i].getStart();
            ends[i] = spans[i].getEnd();
        }
        return new Offsets(ids, starts, ends);
    }

    /** Text of {@code ids}, special tokens included. */
    public String decode(long[] ids) { return decode(ids, false); }

    public String decode(long[] ids, boolean skipSpecialTokens) { return tokenizer.decode(ids, skipSpecialTokens); }

    /** The BOS id when the tokenizer has a BOS token; present even when {@link #addsBos()} is false. */
    public OptionalLong bosId() { return bosId; }

    /**
     * Whether sequences start with BOS: the tokenizer has a BOS token and {@code add_bos_token}
     * is not false (Llama 1-3 and Mistral: yes; Qwen: no BOS token at all).
     */
    public boolean addsBos() { return bosId.isPresent() && settings.addBosToken().orElse(true); }

    /** The EOS appended to training examples: tokenizer_config's eos_token, else config.json's first eos_token_id. */
    public long eosId() { return eosId; }

    /** Padding id: pad_token, else {@link #eosId()} (Llama has no pad token; padding is masked by position). */
    public long padId() { return padId; }

    /** Every id that ends generation: {@link #eosId()} then config.json / generation_config.json's eos_token_id list. */
    public long[] stopIds() { return stopIds.clone(); }

    public boolean isStop(long id) {
        for (long s : stopIds) if (s == id) return true;
        return false;
    }

    public Optional<String> bosToken() { return settings.bosToken(); }

    public Optional<String> eosToken() { return settings.eosToken(); }

    /** The Jinja chat template text of tokenizer_config.json (only inspected, never run). */
    public Optional<String> chatTemplate() { return settings.chatTemplate(); }

    /** The file the {@link #chatTemplate()} was read from (chat_template.jinja or tokenizer_config.json). */
    public Path chatTemplateSource() { return TokenizerSettings.chatTemplateSource(dir); }

    public TokenizerSettings settings() { return settings; }

    @Override public void close() { tokenizer.close(); }

    private long tokenId(String token, String key, Path configFile) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        if (ids.length != 1) {
            throw new TokenizerException(configFile + ": " + key + " '" + token + "' is not a single token of tokenizer.json"
                    + " (it encodes to " + Arrays.toString(ids) + "); fix " + key + " or use the matching tokenizer.json");
        }
        return ids[0];
    }
}
