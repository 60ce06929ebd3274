package org.lorascripts.text.clip;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-pair encoding of one pre-tokenized piece, as {@code simple_tokenizer.bpe}: the piece's
 * UTF-8 bytes become byte symbols, the last one carrying {@code </w>}; then, repeatedly, the adjacent
 * pair with the lowest merge rank is merged everywhere it occurs (left to right) until no pair has a
 * rank. Results are cached per piece because captions repeat the same words over and over.
 */
final class BytePairEncoder {
    /** Bounds the cache for runs over millions of captions; real vocabularies of words fit well below it. */
    private static final int CACHE_LIMIT = 200_000;

    private final ClipVocabulary vocab;
    private final int unknownId;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /** {@code unknownId} stands for a merged symbol the vocabulary lacks (HF's unk token), which CLIP's own files never produce. */
    BytePairEncoder(ClipVocabulary vocab, int unknownId) {
        this.vocab = vocab;
        this.unknownId = unknownId;
    }

    /** The token ids of one piece of normalized text. */
    int[] encode(String piece) {
        int[] cached = cache.get(piece);
        if (cached != null) return cached;
        int[] ids = merge(ByteLevelAlphabet.encode(piece));
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(piece, ids);
        return ids;
    }

    private int[] merge(String symbols) {
        List<String> word = new ArrayList<>(symbols.length());
        for (int i = 0; i < symbols.length(); i++) word.add(String.valueOf(symbols.charAt(i)));
        int last = word.size() - 1;
        word.set(last, word.get(last) + ClipVocabulary.END_OF_WORD);

        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                int r = vocab.mergeRank(word.get(i), word.get(i + 1));
                if (r >= 0 && r < bestRank) {
                    bestRank = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }

        int[] ids = new int[word.size()];
        for (int i = 0; i < ids.length; i++) {
            int id = vocab.id(word.get(i));
            ids[i] = id >= 0 ? id : unknownId;
        }
        return ids;
    }
}
