package org.lorascripts.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Learns byte-level BPE merges from a small corpus, the algorithm of GPT-2 / HF tokenizers'
 * {@code BpeTrainer} without its speed-ups: split into pre-tokens, spell each as byte symbols,
 * then repeatedly merge the most frequent adjacent pair. Ties go to the lexicographically
 * smallest pair so the result never depends on hash order (the tiny tokenizer must be
 * byte-identical on every run).
 */
final class ByteLevelBpeTrainer {
    /**
     * GPT-2's pre-tokenizer pattern (also HF's ByteLevel pre-tokenizer with use_regex=true), so
     * merges are learned on the same pieces the tokenizer will later see.
     */
    static final Pattern PRE_TOKENS =
            Pattern.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private static final String[] BYTE_SYMBOLS = byteSymbols();

    private ByteLevelBpeTrainer() {}

    /** The printable stand-in character GPT-2 uses for each byte (index = byte value 0..255). */
    static String[] byteSymbols() {
        // Printable Latin-1 bytes stand for themselves; the others are shifted to 256+ so that
        // every symbol is a visible, non-whitespace character (GPT-2 encoder.py bytes_to_unicode).
        String[] out = new String[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + next++));
        }
        return out;
    }

    /** Up to {@code count} merges, in the order learned (= priority order in tokenizer.json). */
    static List<String[]> train(String corpus, int count) {
        Map<String, Integer> wordCounts = new TreeMap<>();
        Matcher m = PRE_TOKENS.matcher(corpus);
        while (m.find()) wordCounts.merge(m.group(), 1, Integer::sum);

        List<List<String>> words = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        for (var e : wordCounts.entrySet()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : e.getKey().getBytes(StandardCharsets.UTF_8)) symbols.add(BYTE_SYMBOLS[b & 0xFF]);
            words.add(symbols);
            freqs.add(e.getValue());
        }

        List<String[]> merges = new ArrayList<>();
        while (merges.size() < count) {
            Map<String, Integer> pairCounts = new LinkedHashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) pairCounts.merge(s.get(i) + " " + s.get(i + 1), freqs.get(w), Integer::sum);
            }
            String best = null;
            int bestCount = 0;
            for (var e : pairCounts.entrySet()) {
                int c = e.getValue();
                if (c > bestCount || (c == bestCount && e.getKey().compareTo(best) < 0)) { best = e.getKey(); bestCount = c; }
            }
            if (best == null) break; // every pre-token is a single symbol: nothing left to merge
            String[] pair = best.split(" ", 2);
            merges.add(pair);
            for (List<String> s : words) apply(s, pair[0], pair[1]);
        }
        return merges;
    }

    private static void apply(List<String> symbols, String a, String b) {
        for (int i = 0; i + 1 < symbols.size(); i++) {
            if (symbols.get(i).equals(a) && symbols.get(i + 1).equals(b)) {
                symbols.set(i, a + b);
                symbols.remove(i + 1);
            }
        }
    }

    static List<String> byteVocabulary() { return Arrays.asList(BYTE_SYMBOLS.clone()); }
}
