package org.lorascripts.models.blip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;
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
            AtomicFileWriter.write(dir.resolve("config.json"), JsonWriter.writePretty(configJson()).getBytes(StandardCharsets.UTF_8));
            AtomicFileWriter.write(dir.resolve("tokenizer.json"), JsonWriter.writeUtf8(tokenizerJson()));
            AtomicFileWriter.write(dir.resolve("tokenizer_config.json"), JsonWriter.writePretty(obj(
                    "tokenizer_class", JsonValue.of("BertTokenizer"), "do_lower_case", JsonValue.of(true),
                    "cls_token", JsonValue.of("[CLS]"), "sep_token", JsonValue.of("[SEP]"), "pad_token", JsonValue.of("[PAD]"),
                    "unk_token", JsonValue.of("[UNK]"), "mask_token", JsonValue.of("[MASK]"), "bos_token", JsonValue.of("[DEC]")))
                    .getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tiny BLIP to " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static JsonValue configJson() {
        BlipConfig c = BlipConfig.tiny();
        JsonValue vision = obj("hidden_size", JsonValue.of(c.vision().hidden()), "intermediate_size", JsonValue.of(c.vision().intermediate()),
                "num_hidden_layers", JsonValue.of(c.vision().layers()), "num_attention_heads", JsonValue.of(c.vision().heads()),
                "image_size", JsonValue.of(c.vision().imageSize()), "patch_size", JsonValue.of(c.vision().patch()),
                "hidden_act", JsonValue.of("gelu"), "layer_norm_eps", JsonValue.of(c.vision().eps()));
        JsonValue text = obj("vocab_size", JsonValue.of(c.text().vocabSize()), "hidden_size", JsonValue.of(c.text().hidden()),
                "encoder_hidden_size", JsonValue.of(c.text().encoderHidden()), "intermediate_size", JsonValue.of(c.text().intermediate()),
                "num_hidden_layers", JsonValue.of(c.text().layers()), "num_attention_heads", JsonValue.of(c.text().heads()),
                "max_position_embeddings", JsonValue.of(c.text().maxPositions()), "hidden_act", JsonValue.of("gelu"),
                "layer_norm_eps", JsonValue.of(c.text().eps()), "bos_token_id", JsonValue.of(DEC_ID),
                "sep_token_id", JsonValue.of(SEP_ID), "pad_token_id", JsonValue.of(PAD_ID), "eos_token_id", JsonValue.of(SEP_ID));
        return obj("architectures", new JsonValue.Arr(List.of(JsonValue.of("BlipForConditionalGeneration"))),
                "model_type", JsonValue.of("blip"), "vision_config", vision, "text_config", text);
    }

    /** A BERT-uncased style tokenizer.json: BertNormalizer, BertPreTokenizer, WordPiece model and decoder. */
    static JsonValue tokenizerJson() {
        List<String> vocab = vocabulary();
        Map<String, JsonValue> ids = new LinkedHashMap<>();
        List<JsonValue> added = new ArrayList<>();
        for (int i = 0; i < vocab.size(); i++) {
            String t = vocab.get(i);
            ids.put(t, JsonValue.of(i));
            if (t.startsWith("[") && !t.startsWith("[unused")) {
                added.add(obj("id", JsonValue.of(i), "content", JsonValue.of(t), "single_word", JsonValue.of(false),
                        "lstrip", JsonValue.of(false), "rstrip", JsonValue.of(false), "normalized", JsonValue.of(false),
                        "special", JsonValue.of(true)));
            }
        }
        JsonValue normalizer = obj("type", JsonValue.of("BertNormalizer"), "clean_text", JsonValue.of(true),
                "handle_chinese_chars", JsonValue.of(true), "strip_accents", JsonValue.Null.INSTANCE, "lowercase", JsonValue.of(true));
        JsonValue model = obj("type", JsonValue.of("WordPiece"), "unk_token", JsonValue.of("[UNK]"),
                "continuing_subword_prefix", JsonValue.of("##"), "max_input_chars_per_word", JsonValue.of(100),
                "vocab", new JsonValue.Obj(ids));
        return obj("version", JsonValue.of("1.0"), "truncation", JsonValue.Null.INSTANCE, "padding", JsonValue.Null.INSTANCE,
                "added_tokens", new JsonValue.Arr(added), "normalizer", normalizer,
                "pre_tokenizer", obj("type", JsonValue.of("BertPreTokenizer")), "post_processor", JsonValue.Null.INSTANCE,
                "decoder", obj("type", JsonValue.of("WordPiece"), "prefix", JsonValue.of("##"), "cleanup", JsonValue.of(true)),
                "model", model);
    }

    private static JsonValue obj(Object... keyValues) {
        Map<String, JsonValue> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], (JsonValue) keyValues[i + 1]);
        return new JsonValue.Obj(m);
    }
}
