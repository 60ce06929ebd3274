package org.lorascripts.config;

import java.math.BigDecimal;

/** Formats numbers the way users write them in YAML: {@code 1e-4}, {@code 0.01}, {@code 7.0}. */
final class NumberText {
    private NumberText() {}

    static String format(double v, ValueKind kind) {
        if (kind == ValueKind.INT) return Long.toString((long) v);
        if (v == Double.MIN_VALUE) return "0"; // the "> 0" bound; see range text
        return format(v);
    }

    static String format(double v) {
        if (v == 0) return "0.0";
        double a = Math.abs(v);
        BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
        if (a < 1e-3 || a >= 1e7) {
            int exponent = d.precision() - d.scale() - 1;
            BigDecimal mantissa = d.movePointLeft(exponent).stripTrailingZeros();
            return mantissa.toPlainString() + "e" + exponent;
        }
        String s = d.toPlainString();
        return s.contains(".") ? s : s + ".0";
    }
}
