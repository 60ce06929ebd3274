package org.lorascripts.text;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;

/**
 * Writes the tokenizer of {@code builtin:tiny-llama}: a real byte-level BPE {@code tokenizer.json}
 * (the format of Llama 3, Qwen and GPT-2) that the HF tokenizers library loads, plus a
 * {@code tokenizer_config.json}. Ids 0..255 are the 256 byte symbols, so any text encodes; then
 * {@value #MERGES} merges learned from a fixed corpus; then the special tokens. Like Llama 3's
 * tokenizer.json, its post-processor prepends {@code <s>} when special tokens are requested,
 * which lets tests check that our encode never adds it. The output is byte-identical on every run.
 */
public final class TinyTokenizerWriter {
    static final int MERGES = 120;

    /** Added (special) tokens, in id order after the byte symbols and merges. */
    public static final List<String> SPECIAL_TOKENS = List.of("<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>",
            "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");

    /** The ChatML template as HF model repos spell it, so {@code chat_template: auto} finds chatml. */
    static final String CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** Merges are learned from this text: common English pieces and chat words get their own ids. */
    private static final String CORPUS = """
            The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox runs \
            into the forest. A user asks a question and the assistant gives an answer. The system \
            tells the assistant what to do. Below is an instruction that describes a task. Write a \
            response that appropriately completes the request. This is a small model for tests: it \
            reads text, learns the next token, and writes an answer. There is the cat, there is the \
            hat, and that is that. What is the capital of France? The capital of France is Paris. \
            Hello, world! How are you today? I am fine, thank you. Training with low-rank adapters \
            changes only a few weights of the model while the rest of them stay frozen.
            """;

    private TinyTokenizerWriter() {}

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir} (created if needed). */
    public static void write(Path dir) { write(dir, CORPUS, MERGES); }

    /**
     * The same files with up to {@code merges} merges learned from {@code corpus} (the pretrained
     * tiny LLaMA's tokenizer is learned from its own training text).
     */
    public static void write(Path dir, String corpus, int merges) {
        try {
            Files.createDirectories(dir);
            AtomicFileWriter.write(dir.resolve("tokenizer.json"), JsonWriter.writeUtf8(tokenizerJson(corpus, merges)));
            AtomicFileWriter.write(dir.resolve("tokenizer_config.json"),
                    JsonWriter.writePretty(tokenizerConfig()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny tokenizer to " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static JsonValue tokenizerJson() { return tokenizerJson(CORPUS, MERGES); }

    static JsonValue tokenizerJson(String corpus, int mergeCount) {
        Map<String, JsonValue> vocab = new LinkedHashMap<>();
        for (String symbol : ByteLevelBpeTrainer.byteVocabulary()) vocab.put(symbol, JsonValue.of(vocab.size()));
        List<JsonValue> merges = new ArrayList<>();
        for (String[] pair : ByteLevelBpeTrainer.train(corpus, mergeCount)) {
            merges.add(JsonValue.of(pair[0] + " " + pair[1]));
            vocab.putIfAbsent(pair[0] + pair[1], JsonValue.of(vocab.size()));
        }
        int firstSpecial = vocab.size();
        List<JsonValue> added = new ArrayList<>();
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            added.add(obj("id", JsonValue.of(firstSpecial + i), "content", JsonValue.of(SPECIAL_TOKENS.get(i)),
                    "single_word", JsonValue.of(false), "lstrip", JsonValue.of(false), "rstrip", JsonValue.of(false),
                    "normalized", JsonValue.of(false), "special", JsonValue.of(true)));
        }
        JsonValue bos = obj("SpecialToken", obj("id", JsonValue.of("<s>"), "type_id", JsonValue.of(0)));
        JsonValue postProcessor = obj("type", JsonValue.of("TemplateProcessing"),
                "single", arr(bos, sequence("A", 0)),
                "pair", arr(bos, sequence("A", 0), obj("SpecialToken", obj("id", JsonValue.of("<s>"), "type_id", JsonValue.of(1))), sequence("B", 1)),
                "special_tokens", obj("<s>", obj("id", JsonValue.of("<s>"), "ids", arr(JsonValue.of(firstSpecial)),
                        "tokens", arr(JsonValue.of("<s>")))));
        JsonValue model = obj("type", JsonValue.of("BPE"), "dropout", JsonValue.Null.INSTANCE,
                "unk_token", JsonValue.Null.INSTANCE, "continuing_subword_prefix", JsonValue.Null.INSTANCE,
                "end_of_word_suffix", JsonValue.Null.INSTANCE, "fuse_unk", JsonValue.of(false),
                "byte_fallback", JsonValue.of(false), "vocab", new JsonValue.Obj(vocab), "merges", new JsonValue.Arr(merges));
        return obj("version", JsonValue.of("1.0"), "truncation", JsonValue.Null.INSTANCE, "padding", JsonValue.Null.INSTANCE,
                "added_tokens", new JsonValue.Arr(added), "normalizer", JsonValue.Null.INSTANCE,
                "pre_tokenizer", byteLevel(false), "post_processor", postProcessor, "decoder", byteLevel(true),
                "model", model);
    }

    static JsonValue tokenizerConfig() {
        return obj("add_bos_token", JsonValue.of(true), "add_eos_token", JsonValue.of(false),
                "bos_token", JsonValue.of("<s>"), "eos_token", JsonValue.of("</s>"), "pad_token", JsonValue.of("<pad>"),
                "chat_template", JsonValue.of(CHATML_JINJA), "clean_up_tokenization_spaces", JsonValue.of(false),
                "model_max_length", JsonValue.of(2048), "tokenizer_class", JsonValue.of("PreTrainedTokenizerFast"));
    }

    private static JsonValue byteLevel(boolean addPrefixSpace) {
        return obj("type", JsonValue.of("ByteLevel"), "add_prefix_space", JsonValue.of(addPrefixSpace),
                "trim_offsets", JsonValue.of(true), "use_regex", JsonValue.of(true));
    }

    private static JsonValue sequence(String id, int typeId) {
        return obj("Sequence", obj("id", JsonValue.of(id), "type_id", JsonValue.of(typeId)));
    }

    private static JsonValue arr(JsonValue... items) { return new JsonValue.Arr(List.of(items)); }

    private static JsonValue obj(Object... keyValues) {
        Map<String, JsonValue> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], (JsonValue) keyValues[i + 1]);
        return new JsonValue.Obj(m);
    }
}
