package org.lorascripts.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds the candidate a misspelt name was probably meant to be, by Damerau-Levenshtein
 * (optimal string alignment) distance on lower-cased names with '-' and '_' treated alike.
 * Suggests only when close: at most 1 edit for names up to 5 characters, 2 up to 9, else 3.
 */
public final class ClosestName {
    private ClosestName() {}

    public static Optional<String> closest(String input, Collection<String> candidates) {
        String a = normalize(input);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(a, normalize(c));
            if (d < bestDistance) { bestDistance = d; best = c; }
        }
        return best != null && bestDistance <= allowedEdits(a.length()) ? Optional.of(best) : Optional.empty();
    }

    /** " (did you mean 'x'?)" or "". */
    public static String hint(String input, Collection<String> candidates) {
        return closest(input, candidates).map(c -> " (did you mean '" + c + "'?)").orElse("");
    }

    static int allowedEdits(int length) {
        return length <= 5 ? 1 : length <= 9 ? 2 : 3;
    }

    private static String normalize(String s) {
        return s.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
