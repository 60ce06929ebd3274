package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.lorascripts.ffi.NativeCache;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;
import org.lorascripts.text.TinyTokenizerWriter;

/**
 * {@code builtin:tiny-llama} as an HF model folder: the tiny byte-level BPE tokenizer
 * ({@link TinyTokenizerWriter}) and the tiny random Llama ({@link TinyLlama}) sized to its
 * vocabulary, with config.json's bos/eos ids pointing at the tokenizer's {@code <s>} and
 * {@code </s>} (TinyLlama's defaults, 1 and 2, are byte symbols here, and generation would stop
 * at a '#'). Deterministic: the same bytes on every machine. Cached under
 * {@code NativeCache.root()/models/tiny-llama-v1}; bump the version when the content changes.
 */
public final class TinyLlamaBuiltin {
    public static final String NAME = "tiny-llama";
    static final String FOLDER = "tiny-llama-v1";
    private static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json");

    private TinyLlamaBuiltin() {}

    /** The cached folder, written on first use (temp folder + rename, so a half-written one is never seen). */
    public static Path ensureCached() throws IOException {
        Path dir = NativeCache.root().resolve("models").resolve(FOLDER);
        if (isComplete(dir)) return dir;
        Files.createDirectories(dir.getParent());
        Path tmp = Files.createTempDirectory(dir.getParent(), "." + FOLDER + ".tmp-");
        try {
            write(tmp);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
        } catch (IOException e) {
            // another process may have finished the same folder first: its bytes equal ours
            if (!isComplete(dir)) throw e;
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
        return dir;
    }

    /** Writes the tokenizer files, model.safetensors and config.json into {@code dir}. */
    public static void write(Path dir) throws IOException {
        TinyTokenizerWriter.write(dir);
        JsonValue.Obj tokenizer = (JsonValue.Obj) JsonReader.parse(dir.resolve("tokenizer.json"));
        TinyLlama.writeModel(dir, vocabSize(tokenizer));
        Path configFile = dir.resolve("config.json");
        Map<String, JsonValue> config = new LinkedHashMap<>(((JsonValue.Obj) JsonReader.parse(configFile)).members());
        config.put("bos_token_id", JsonValue.of(addedTokenId(tokenizer, "<s>")));
        config.put("eos_token_id", JsonValue.of(addedTokenId(tokenizer, "</s>")));
        config.put("pad_token_id", JsonValue.of(addedTokenId(tokenizer, "<pad>")));
        AtomicFileWriter.write(configFile, (JsonWriter.writePretty(new JsonValue.Obj(config)) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** One past the largest id of the BPE vocabulary and the added tokens. */
    public static int vocabSize(JsonValue.Obj tokenizer) {
        long max = -1;
        JsonValue.Obj vocab = (JsonValue.Obj) ((JsonValue.Obj) tokenizer.get("model")).get("vocab");
        for (JsonValue v : vocab.members().values()) max = Math.max(max, ((JsonValue.Int) v).value());
        for (JsonValue t : ((JsonValue.Arr) tokenizer.get("added_tokens")).items()) {
            max = Math.max(max, ((JsonValue.Int) ((JsonValue.Obj) t).get("id")).value());
        }
        return Math.toIntExact(max + 1);
    }

    public static long addedTokenId(JsonValue.Obj tokenizer, String content) {
        for (JsonValue t : ((JsonValue.Arr) tokenizer.get("added_tokens")).items()) {
            JsonValue.Obj o = (JsonValue.Obj) t;
            if (o.get("content") instanceof JsonValue.Str s && s.value().equals(content)) return ((JsonValue.Int) o.get("id")).value();
        }
        throw new IllegalStateException("the tiny tokenizer has no added token " + content);
    }

    private static boolean isComplete(Path dir) {
        return FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
