package org.lorascripts.text.clip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.lorascripts.io.Json;

/**
 * CLIP's token table (id to token string and back) and the rank of each BPE merge.
 *
 * <p>Two sources say the same thing: OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} (merges only;
 * the vocabulary is derived from them exactly as {@code simple_tokenizer.py} does) and a diffusers
 * folder's {@code tokenizer/vocab.json} + {@code merges.txt} (explicit).
 */
final class ClipVocabulary {
    static final String START_OF_TEXT = "<|startoftext|>";
    static final String END_OF_TEXT = "<|endoftext|>";
    static final String END_OF_WORD = "</w>";
    /** simple_tokenizer.py keeps lines 1 .. 49152-256-2 of the file (line 0 is a version header). */
    static final int OPENAI_MERGE_COUNT = 49152 - 256 - 2;
    static final String BUNDLED_MERGES = "/clip/bpe_simple_vocab_16e6.txt.gz";

    private final String[] tokens;
    private final Map<String, Integer> ids;
    /** Keyed by "first second": byte-level symbols never contain a space, so the key is unambiguous. */
    private final Map<String, Integer> mergeRanks;

    private ClipVocabulary(String[] tokens, Map<String, Integer> ids, List<String> merges) {
        this.tokens = tokens;
        this.ids = ids;
        this.mergeRanks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) mergeRanks.putIfAbsent(merges.get(i), i);
        if (!ids.containsKey(START_OF_TEXT) || !ids.containsKey(END_OF_TEXT)) {
            throw new IllegalArgumentException("CLIP vocabulary lacks " + START_OF_TEXT + " or " + END_OF_TEXT);
        }
    }

    /** The merges file shipped as a resource of this project. */
    static ClipVocabulary bundled() {
        try (InputStream in = ClipVocabulary.class.getResourceAsStream(BUNDLED_MERGES)) {
            if (in == null) throw new IllegalStateException("resource " + BUNDLED_MERGES + " is missing from the class path");
            return fromOpenAiMerges(new GZIPInputStream(in), BUNDLED_MERGES);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + BUNDLED_MERGES, e);
        }
    }

    /** OpenAI's merges file (already un-gzipped); {@code source} names it in errors. */
    static ClipVocabulary fromOpenAiMerges(InputStream text, String source) throws IOException {
        List<String> merges = new ArrayList<>(OPENAI_MERGE_COUNT);
        BufferedReader r = new BufferedReader(new InputStreamReader(text, StandardCharsets.UTF_8));
        r.readLine(); // version header
        for (int line = 2; merges.size() < OPENAI_MERGE_COUNT; line++) {
            String s = r.readLine();
            if (s == null) {
                throw new IOException(source + ": ends at line " + line + "; CLIP needs " + OPENAI_MERGE_COUNT + " merges");
            }
            merges.add(mergeKey(s, source, line));
        }
        char[] symbols = ByteLevelAlphabet.symbols();
        String[] tokens = new String[2 * symbols.length + merges.size() + 2];
        int n = 0;
        for (char c : symbols) tokens[n++] = String.valueOf(c);
        for (char c : symbols) tokens[n++] = c + END_OF_WORD;
        for (String m : merges) tokens[n++] = m.replace(" ", "");
        tokens[n++] = START_OF_TEXT;
        tokens[n] = END_OF_TEXT;
        Map<String, Integer> ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) ids.put(tokens[i], i);
        return new ClipVocabulary(tokens, ids, merges);
    }

    /** A Hugging Face tokenizer's {@code vocab.json} (token to id) and {@code merges.txt}. */
    static ClipVocabulary fromHuggingFaceFiles(Path vocabJson, Path mergesTxt) throws IOException {
        JsonNode obj = Json.read(vocabJson);
        if (!obj.isObject()) throw new IOException(vocabJson + ": expected a JSON object of token to id");
        Map<String, Integer> ids = new HashMap<>(obj.size() * 2);
        int maxId = -1;
        for (var e : obj.properties()) {
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw new IOException(vocabJson + ": id of token \"" + e.getKey() + "\" is not a non-negative integer");
            }
            ids.put(e.getKey(), id.intValue());
            maxId = Math.max(maxId, id.intValue());
        }
        String[] tokens = new String[maxId + 1];
        for (var e : ids.entrySet()) {
            if (tokens[e.getValue()] != null) {
                throw new IOException(vocabJson + ": id " + e.getValue() + " is given to both \""
                        + tokens[e.getValue()] + "\" and \"" + e.getKey() + "\"");
            }
            tokens[e.getValue()] = e.getKey();
        }
        List<String> merges = new ArrayList<>();
        List<String> lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String s = lines.get(i);
            // The "#version" header, and the blank last line some writers leave, are not merges.
            if ((i == 0 && s.startsWith("#version")) || s.isBlank()) continue;
            merges.add(mergeKey(s, mergesTxt.toString(), i + 1));
        }
        return new ClipVocabulary(tokens, ids, merges);
    }

    private static String mergeKey(String line, String source, int lineNumber) throws IOException {
        String[] parts = line.trim().split(" ");
        if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw new IOException(source + ": line " + lineNumber + " is not a merge \"a b\": \"" + line + "\"");
        }
        return parts[0] + " " + parts[1];
    }

    int size() {
        return tokens.length;
    }

    /** The id of a token string, or -1. */
    int id(String token) {
        Integer id = ids.get(token);
        return id == null ? -1 : id;
    }

    /** The token string of an id, or null for an id no token has (a gap in a vocab.json). */
    String token(int id) {
        if (id < 0 || id >= tokens.length) throw new IllegalArgumentException("token id " + id + " is outside 0.." + (tokens.length - 1));
        return tokens[id];
    }

    /** The rank of merging {@code first} with {@code second} (lower merges first), or -1. */
    int mergeRank(String first, String second) {
        Integer r = mergeRanks.get(first + " " + second);
        return r == null ? -1 : r;
    }
}
