package org.lorascripts.io;

/**
 * JSON (RFC 8259) string and number literals for the few files we write as JSON by hand.
 *
 * @deprecated to be removed once the safetensors/metrics readers move to io.Json; new code uses
 *             {@link Json} and {@link JsonFields}. Kept only for metrics.jsonl and the event-file demo,
 *             which other changes are editing now.
 */
@Deprecated
public final class JsonLiterals {
    private JsonLiterals() {}

    public static String string(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** JSON has no NaN or Infinity, so those become null; a diverged loss then still parses. */
    public static String number(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return "null";
        // Double.toString gives the shortest round-trip form, e.g. "3.0" or "1.0E-4", both valid JSON.
        return Double.toString(v);
    }

    public static String number(Number n) {
        if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte) {
            return n.toString();
        }
        return number(n.doubleValue());
    }
}
