package org.lorascripts.config;

import java.util.List;
import java.util.stream.Collectors;

/** Shows a typed config value as a user would write it in YAML. */
public final class ValueText {
    private ValueText() {}

    public static String format(Object value, ValueKind kind) {
        if (value == null) return "(none)";
        if (value instanceof Double d) return NumberText.format(d);
        if (value instanceof ConfigChoice c) return c.configName();
        if (kind == ValueKind.SUBSETS && value instanceof List<?> list) {
            return list.stream().map(o -> ((SubsetKeys.Settings) o).values().entrySet().stream()
                            .map(e -> e.getKey() + ": " + (e.getValue() instanceof String t ? "\"" + t + "\"" : format(e.getValue(), ValueKind.STRING)))
                            .collect(Collectors.joining(", ", "{", "}")))
                    .collect(Collectors.joining(", ", "[", "]"));
        }
        if (value instanceof List<?> list) {
            return list.stream().map(o -> kind == ValueKind.TEXT_LIST ? "\"" + o + "\""
                            : o instanceof Double d ? NumberText.format(d) : String.valueOf(o))
                    .collect(Collectors.joining(", ", "[", "]"));
        }
        return value.toString();
    }
}
