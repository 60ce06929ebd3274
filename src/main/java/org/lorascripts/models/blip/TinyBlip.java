package org.lorascripts.models.blip;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.Json;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;

/**
 * The tiny BLIP of tools/fixtures/make_blip_fixture.py, for tests: {@link BlipConfig#tiny()} and a
 * 200-token BERT WordPiece vocabulary laid out like BLIP's ([PAD] 0 ... [SEP] 3 ..., then [DEC] and
 * [ENC] as the last two ids, as bert-base-uncased + BLIP's two added tokens). {@link #writeFolder}
 * writes an HF-style folder (config.json, model.safetensors with random weights, tokenizer.json).
 */
public final class TinyBlip {
    public static final int VOCAB_SIZE = 200;
    public static final int PAD_ID = 0;
    public static final int SEP_ID = 3;
    public static final int DEC_ID = 198;

    /** Same list, same order as VOCAB in make_blip_fixture.py. */
    private static final String WORDS = "a an the of in on with and at near next to is are two picture photo image view"
            + " close up front background dog cat man woman person people group bird horse car train boat tree house sky"
            + " grass water beach road street city field mountain snow table room bed couch window wall floor plate food"
            + " pizza shirt hat flowers red blue green white black yellow small large sitting standing running holding"
            + " wearing looking over top side its his her";

    private TinyBlip() {}

    /** The vocabulary in id order. */
    public static List<String> vocabulary() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (String w : WORDS.split(" ")) if (!v.contains(w)) v.add(w);
        for (char c = 'a'; c <= 'z'; c++) if (!v.contains(String.valueOf(c))) v.add(String.valueOf(c));
        for (char c = 'a'; c <= 'z'; c++) v.add("##" + c);
        v.addAll(List.of(",", ".", "-", "'"));
        for (int i = 0; v.size() < DEC_ID; i++) v.add("[unused" + i + "]");
        v.add("[DEC]");
        v.add("[ENC]");
        if (v.size() != VOCAB_SIZE) throw new IllegalStateException("tiny BLIP vocabulary has " + v.size() + " tokens");
        return v;
    }

    /** Writes config.json, model.safetensors (random weights from {@code seed}), tokenizer.json and tokenizer_config.json. */
    public static void writeFolder(Path dir, long seed) {
        try {
            Files.createDirectories(dir);
            try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(BlipConfig.tiny(), seed, Device.CPU, DType.F32)) {
                m.saveWeights(dir.resolve("model.safetensors"));
            }
            AtomicFileWriter.write(dir.resolve("config.json"), Json.writePretty(configJson()).getBytes(StandardCharsets.UTF_8));
            AtomicFileWriter.write(dir.resolve("tokenizer.json"), Json.writeUtf8(tokenizerJson()));
            AtomicFileWriter.write(dir.resolve("tokenizer_config.json"), Json.writePretty(Json.object(
                    "tokenizer_class", "BertTokenizer", "do_lower_case", true, "cls_token", "[CLS]", "sep_token", "[SEP]",
                    "pad_token", "[PAD]", "unk_token", "[UNK]", "mask_token", "[MASK]", "bos_token", "[DEC]"))
                    .getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny BLIP to " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static ObjectNode configJson() {
        BlipConfig c = BlipConfig.tiny();
        BlipConfig.Vision v = c.vision();
        BlipConfig.Text t = c.text();
        ObjectNode vision = Json.object("hidden_size", v.hidden(), "intermediate_size", v.intermediate(), "num_hidden_layers", v.layers(),
                "num_attention_heads", v.heads(), "image_size", v.imageSize(), "patch_size", v.patch(), "hidden_act", "gelu",
                "layer_norm_eps", v.eps());
        ObjectNode text = Json.object("vocab_size", t.vocabSize(), "hidden_size", t.hidden(), "encoder_hidden_size", t.encoderHidden(),
                "intermediate_size", t.intermediate(), "num_hidden_layers", t.layers(), "num_attention_heads", t.heads(),
                "max_position_embeddings", t.maxPositions(), "hidden_act", "gelu", "layer_norm_eps", t.eps(),
                "bos_token_id", DEC_ID, "sep_token_id", SEP_ID, "pad_token_id", PAD_ID, "eos_token_id", SEP_ID);
        return Json.object("architectures", Json.array("BlipForConditionalGeneration"), "model_type", "blip",
                "vision_config", vision, "text_config", text);
    }

    /** A BERT-uncased style tokenizer.json: BertNormalizer, BertPreTokenizer, WordPiece model and decoder. */
    static ObjectNode tokenizerJson() {
        List<String> vocab = vocabulary();
        ObjectNode ids = Json.object();
        ArrayNode added = Json.array();
        for (int i = 0; i < vocab.size(); i++) {
            String t = vocab.get(i);
            ids.put(t, i);
            if (t.startsWith("[") && !t.startsWith("[unused")) {
                added.add(Json.object("id", i, "content", t, "single_word", false, "lstrip", false, "rstrip", false,
                        "normalized", false, "special", true));
            }
        }
        ObjectNode normalizer = Json.object("type", "BertNormalizer", "clean_text", true, "handle_chinese_chars", true,
                "strip_accents", null, "lowercase", true);
        ObjectNode model = Json.object("type", "WordPiece", "unk_token", "[UNK]", "continuing_subword_prefix", "##",
                "max_input_chars_per_word", 100, "vocab", ids);
        return Json.object("version", "1.0", "truncation", null, "padding", null, "added_tokens", added, "normalizer", normalizer,
                "pre_tokenizer", Json.object("type", "BertPreTokenizer"), "post_processor", null,
                "decoder", Json.object("type", "WordPiece", "prefix", "##", "cleanup", true), "model", model);
    }
}
