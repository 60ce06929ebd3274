package org.lorascripts.text;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.Json;

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
            AtomicFileWriter.write(dir.resolve("tokenizer.json"), Json.writeUtf8(tokenizerJson(corpus, merges)));
            AtomicFileWriter.write(dir.resolve("tokenizer_config.json"), Json.writePretty(tokenizerConfig()).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny tokenizer to " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static ObjectNode tokenizerJson() { return tokenizerJson(CORPUS, MERGES); }

    static ObjectNode tokenizerJson(String corpus, int mergeCount) {
        ObjectNode vocab = Json.object();
        for (String symbol : ByteLevelBpeTrainer.byteVocabulary()) vocab.put(symbol, vocab.size());
        ArrayNode merges = Json.array();
        for (String[] pair : ByteLevelBpeTrainer.train(corpus, mergeCount)) {
            merges.add(pair[0] + " " + pair[1]);
            if (!vocab.has(pair[0] + pair[1])) vocab.put(pair[0] + pair[1], vocab.size());
        }
        int firstSpecial = vocab.size();
        ArrayNode added = Json.array();
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            added.add(Json.object("id", firstSpecial + i, "content", SPECIAL_TOKENS.get(i), "single_word", false, "lstrip", false,
                    "rstrip", false, "normalized", false, "special", true));
        }
        ObjectNode bos = Json.object("SpecialToken", Json.object("id", "<s>", "type_id", 0));
        ObjectNode postProcessor = Json.object("type", "TemplateProcessing",
                "single", Json.array(bos, sequence("A", 0)),
                "pair", Json.array(bos, sequence("A", 0), Json.object("SpecialToken", Json.object("id", "<s>", "type_id", 1)), sequence("B", 1)),
                "special_tokens", Json.object("<s>", Json.object("id", "<s>", "ids", Json.array(firstSpecial), "tokens", Json.array("<s>"))));
        ObjectNode model = Json.object("type", "BPE", "dropout", null, "unk_token", null, "continuing_subword_prefix", null,
                "end_of_word_suffix", null, "fuse_unk", false, "byte_fallback", false, "vocab", vocab, "merges", merges);
        return Json.object("version", "1.0", "truncation", null, "padding", null, "added_tokens", added, "normalizer", null,
                "pre_tokenizer", byteLevel(false), "post_processor", postProcessor, "decoder", byteLevel(true), "model", model);
    }

    static ObjectNode tokenizerConfig() {
        return Json.object("add_bos_token", true, "add_eos_token", false, "bos_token", "<s>", "eos_token", "</s>", "pad_token", "<pad>",
                "chat_template", CHATML_JINJA, "clean_up_tokenization_spaces", false, "model_max_length", 2048,
                "tokenizer_class", "PreTrainedTokenizerFast");
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace) {
        return Json.object("type", "ByteLevel", "add_prefix_space", addPrefixSpace, "trim_offsets", true, "use_regex", true);
    }

    private static ObjectNode sequence(String id, int typeId) {
        return Json.object("Sequence", Json.object("id", id, "type_id", typeId));
    }
}
