package org.lorascripts.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;

/**
 * Byte-level BPE encoding with BPE-dropout (Provilkov et al., 2020): at every merge step each
 * applicable merge is skipped with probability {@code dropout}, so the same word comes out split
 * in different ways and a model trained on the result learns to read and write words piece by
 * piece, not only the whole words of its corpus. With dropout 0 it is plain byte-level BPE, the
 * encoding of the {@code tokenizer.json} that {@link TinyTokenizerWriter} writes. Seeded: the
 * same (text, seed) gives the same ids, unlike the tokenizers library's own dropout.
 */
public final class BpeDropoutEncoder {
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Map<String, Integer> ids;
    private final String[] byteSymbols = ByteLevelBpeTrainer.byteSymbols();

    /**
     * @param vocab  symbol → id, as in tokenizer.json's {@code model.vocab}
     * @param merges the merges in priority order, each {@code "a b"}
     */
    public BpeDropoutEncoder(Map<String, Integer> vocab, List<String> merges) {
        this.ids = Map.copyOf(vocab);
        for (int i = 0; i < merges.size(); i++) ranks.put(merges.get(i), i);
    }

    /** The encoder of a byte-level BPE {@code tokenizer.json} (its {@code model.vocab} and {@code model.merges}). */
    public static BpeDropoutEncoder of(JsonNode tokenizerJson) {
        JsonNode model = tokenizerJson.required("model");
        Map<String, Integer> vocab = new java.util.LinkedHashMap<>();
        for (var e : model.required("vocab").properties()) vocab.put(e.getKey(), Math.toIntExact(e.getValue().longValue()));
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.required("merges")) merges.add(m.textValue());
        return new BpeDropoutEncoder(vocab, merges);
    }

    /** The ids of {@code text}; {@code dropout} in [0, 1), randomness from {@code random}. */
    public long[] encode(String text, double dropout, SplittableRandom random) {
        List<Long> out = new ArrayList<>();
        Matcher m = ByteLevelBpeTrainer.PRE_TOKENS.matcher(text);
        while (m.find()) {
            List<String> symbols = new ArrayList<>();
            for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) symbols.add(byteSymbols[b & 0xFF]);
            merge(symbols, dropout, random);
            for (String s : symbols) {
                Integer id = ids.get(s);
                if (id == null) throw new IllegalStateException("symbol '" + s + "' is not in the vocabulary");
                out.add((long) id);
            }
        }
        long[] r = new long[out.size()];
        for (int i = 0; i < r.length; i++) r[i] = out.get(i);
        return r;
    }

    /** Applies merges lowest rank first; each candidate is dropped with probability {@code dropout} at each step. */
    private void merge(List<String> symbols, double dropout, SplittableRandom random) {
        while (symbols.size() > 1) {
            int bestAt = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank == null || rank >= bestRank) continue;
                if (dropout > 0 && random.nextDouble() < dropout) continue;
                bestRank = rank;
                bestAt = i;
            }
            if (bestAt < 0) return;
            String merged = symbols.get(bestAt) + symbols.get(bestAt + 1);
            symbols.set(bestAt, merged);
            symbols.remove(bestAt + 1);
        }
    }
}
