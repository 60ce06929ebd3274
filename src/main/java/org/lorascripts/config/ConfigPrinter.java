package org.lorascripts.config;

import java.io.PrintWriter;
import java.util.Objects;

/**
 * Prints a resolved config grouped by YAML section, one key per line, marking with {@code *}
 * the values that differ from the default (and showing that default). Keys of the other task
 * are left out.
 */
public final class ConfigPrinter {
    private ConfigPrinter() {}

    public static void print(LoadedConfig loaded, PrintWriter out) {
        ConfigValues v = loaded.values();
        TaskType task = loaded.config().taskType();
        int width = ConfigKeys.ALL.stream().mapToInt(k -> k.name().length()).max().orElse(20) + 2;
        for (Section section : Section.values()) {
            out.println(section.yamlName() + ":");
            for (ConfigKey k : ConfigKeys.ALL) {
                if (k.section() != section || !k.scope().appliesTo(task)) continue;
                Object value = v.get(k.name());
                boolean changed = isChanged(v, k, value);
                StringBuilder line = new StringBuilder(changed ? "  * " : "    ");
                line.append(String.format("%-" + width + "s", k.name()));
                line.append(value == null ? k.defaultText() : ValueText.format(value, k.kind()));
                if (changed) line.append("   (default: ").append(k.defaultText()).append(')');
                else if (!v.isSet(k.name()) && k.derivedFrom() != null) line.append("   (").append(k.defaultText()).append(')');
                out.println(line);
            }
        }
        out.println("  (* = differs from the default)");
    }

    private static boolean isChanged(ConfigValues v, ConfigKey k, Object value) {
        if (!v.isSet(k.name()) || k.required()) return false;
        Object def = v.defaultValue(k.name());
        if (def instanceof Number a && value instanceof Number b) return a.doubleValue() != b.doubleValue();
        return !Objects.equals(def, value);
    }
}
