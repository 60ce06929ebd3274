package org.lorascripts.train;

import java.lang.reflect.RecordComponent;
import java.util.Optional;
import org.lorascripts.config.ConfigChoice;
import org.lorascripts.config.TrainConfig;

/**
 * The resolved config as an indented YAML-like block for TensorBoard's text tab, so a run's logs
 * say what it was trained with. Walks the {@link TrainConfig} records generically: when a field is
 * added there, it shows up here without an edit.
 */
final class ConfigMarkdown {
    private ConfigMarkdown() {}

    static String of(TrainConfig config) {
        StringBuilder sb = new StringBuilder("```yaml\n");
        append(sb, config, 0);
        return sb.append("```\n").toString();
    }

    /**
     * The same values as flat params for an experiment tracker: "lora.rank" -> "16", nested records
     * joined by dots, lists as written by {@code List.toString}.
     */
    static java.util.Map<String, String> params(TrainConfig config) {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        flatten(out, config, "");
        return out;
    }

    private static void flatten(java.util.Map<String, String> out, Record r, String prefix) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v = value(r, c);
            String name = prefix + c.getName();
            if (v instanceof Record nested && !(v instanceof ConfigChoice)) flatten(out, nested, name + ".");
            else out.put(name, v instanceof ConfigChoice ch ? ch.configName() : String.valueOf(v));
        }
    }

    private static void append(StringBuilder sb, Record r, int depth) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v = value(r, c);
            sb.append("  ".repeat(depth)).append(c.getName()).append(':');
            if (v instanceof Record nested && !(v instanceof ConfigChoice)) {
                sb.append('\n');
                append(sb, nested, depth + 1);
            } else {
                sb.append(' ').append(v instanceof ConfigChoice ch ? ch.configName() : String.valueOf(v)).append('\n');
            }
        }
    }

    /** A component's value for display: Optional unwrapped ("none" when empty), "?" if it cannot be read. */
    private static Object value(Record r, RecordComponent c) {
        Object v;
        try {
            v = c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            return "?";
        }
        return v instanceof Optional<?> o ? o.map(Object.class::cast).orElse("none") : v;
    }
}
