package org.lorascripts.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Collects the problems of one config load so that the user sees all of them in one run instead
 * of fixing them one by one. Keys whose own value was refused are remembered: a cross-key rule
 * that involves such a key would judge a default the user never chose, so it is not reported.
 */
final class ConfigProblems {
    private record Problem(Origin origin, String line) {}

    private final List<Problem> problems = new ArrayList<>();
    private final Set<String> failedKeys = new HashSet<>();
    private List<String> overrideOrder = List.of();

    /** The {@code --set} arguments as given, so that their problems are listed in that order. */
    void overrides(List<String> arguments) { overrideOrder = List.copyOf(arguments); }

    /** Records every line of {@code e}, found at {@code origin}. */
    void add(Origin origin, ConfigException e) {
        for (String line : e.problems()) problems.add(new Problem(origin, line));
    }

    /** Records "ORIGIN: message" unless one of {@code involvedKeys} already failed on its own. */
    void add(Origin origin, String message, String... involvedKeys) {
        for (String k : involvedKeys) if (failedKeys.contains(k)) return;
        problems.add(new Problem(origin, origin + ": " + message));
    }

    /** A key whose value was refused; later rules involving it are skipped. */
    void fail(ConfigKey key) { failedKeys.add(key.name()); }

    boolean failed(String key) { return failedKeys.contains(key); }

    boolean isEmpty() { return problems.isEmpty(); }

    /**
     * Throws one {@link ConfigException} with every problem: lines of the file in line order, then
     * {@code --set} arguments in the order given, then problems of the file as a whole (missing keys).
     */
    void throwIfAny() {
        if (problems.isEmpty()) return;
        Comparator<Problem> order = Comparator.comparingInt((Problem p) -> rank(p.origin()))
                .thenComparingInt(p -> p.origin().line())
                .thenComparingInt(p -> p.origin().isOverride() ? overrideOrder.indexOf(p.origin().source().substring("--set ".length())) : 0);
        throw new ConfigException(problems.stream().sorted(order).map(Problem::line).distinct().toList());
    }

    private static int rank(Origin o) {
        if (o.line() > 0) return 0;
        return o.isOverride() ? 1 : 2;
    }
}
