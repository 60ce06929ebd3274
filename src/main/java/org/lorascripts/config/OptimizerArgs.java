package org.lorascripts.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code optimizer_args} parsed for one optimizer, kohya style: a list of {@code key=value} strings
 * whose values are Python literals ({@code True}/{@code False}, numbers, {@code inf}, {@code None},
 * comma tuples such as {@code 0.9,0.99} or {@code (0.9, 0.99)}). Values are Boolean, Double (null for
 * None) or a List of two Doubles.
 */
public record OptimizerArgs(Map<String, Object> values) {
    public static final OptimizerArgs NONE = new OptimizerArgs(Map.of());

    public OptimizerArgs {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /**
     * Parses {@code raw} for {@code type}; an unknown key, a malformed entry or a value of the wrong
     * kind is an {@link IllegalArgumentException} with a one-line message naming the key and what
     * the optimizer accepts.
     */
    public static OptimizerArgs parse(OptimizerType type, List<String> raw) {
        Map<String, Object> r = new LinkedHashMap<>();
        for (String entry : raw) {
            int eq = entry.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("optimizer_args entry '" + entry + "' is not key=value (e.g. \"weight_decay=0.01\")");
            String key = entry.substring(0, eq).strip();
            String value = entry.substring(eq + 1).strip();
            OptimizerType.Arg kind = type.args().get(key);
            if (kind == null) {
                throw new IllegalArgumentException("optimizer_args: unknown key '" + key + "' for " + type.configName()
                        + "; it accepts " + String.join(", ", type.args().keySet()));
            }
            if (r.containsKey(key)) throw new IllegalArgumentException("optimizer_args: '" + key + "' is given twice");
            r.put(key, value(type, key, kind, value));
        }
        return new OptimizerArgs(r);
    }

    private static Object value(OptimizerType type, String key, OptimizerType.Arg kind, String text) {
        String what = switch (kind) {
            case NUMBER -> "a number";
            case BOOL -> "True or False";
            case PAIR -> "two numbers (e.g. 0.9,0.99)";
            case OPTIONAL_NUMBER -> "a number or None";
        };
        IllegalArgumentException bad = new IllegalArgumentException("optimizer_args: " + key + " of " + type.configName()
                + " must be " + what + ", got '" + text + "'");
        switch (kind) {
            case BOOL -> {
                return switch (text.toLowerCase(Locale.ROOT)) {
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    default -> throw bad;
                };
            }
            case NUMBER -> {
                Double d = number(text);
                if (d == null) throw bad;
                return d;
            }
            case OPTIONAL_NUMBER -> {
                if (text.equalsIgnoreCase("none")) return null;
                Double d = number(text);
                if (d == null) throw bad;
                return d;
            }
            case PAIR -> {
                String t = text;
                if ((t.startsWith("(") && t.endsWith(")")) || (t.startsWith("[") && t.endsWith("]"))) t = t.substring(1, t.length() - 1);
                String[] parts = t.split(",");
                if (parts.length != 2) throw bad;
                List<Double> r = new ArrayList<>(2);
                for (String p : parts) {
                    Double d = number(p.strip());
                    if (d == null) throw bad;
                    r.add(d);
                }
                return List.copyOf(r);
            }
        }
        throw bad;
    }

    private static Double number(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("+inf") || t.equals("float('inf')") || t.equals("float(\"inf\")")) return Double.POSITIVE_INFINITY;
        if (!t.matches("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)(e[+-]?[0-9]+)?")) return null;
        return Double.parseDouble(t);
    }

    public boolean has(String key) { return values.containsKey(key); }

    public double number(String key, double def) { return values.containsKey(key) ? (Double) values.get(key) : def; }

    public boolean bool(String key, boolean def) { return values.containsKey(key) ? (Boolean) values.get(key) : def; }

    /** A number-or-None argument: {@code def} when absent, null when None. */
    public Double optionalNumber(String key, Double def) { return values.containsKey(key) ? (Double) values.get(key) : def; }

    /** A two-number argument, or {@code def} when absent. */
    @SuppressWarnings("unchecked")
    public double[] pair(String key, double first, double second) {
        if (!values.containsKey(key)) return new double[] {first, second};
        List<Double> l = (List<Double>) values.get(key);
        return new double[] {l.get(0), l.get(1)};
    }
}
