package org.lorascripts.config;

import java.io.PrintWriter;
import java.util.Objects;

/**
 * Prints a resolved config grouped by YAML section, one key per line, marking with {@code *}
 * the values that differ from the default (and showing that default). Keys of the other task
 * are left out.
 */
public final class ConfigPrinter {
    /** The column values start at: the longest key apart from kohya's long cache names, plus two spaces. */
    static final int KEY_COLUMN = 29;
    private ConfigPrinter() {}

    public static void print(LoadedConfig loaded, PrintWriter out) {
        ConfigValues v = loaded.values();
        TaskType task = loaded.config().taskType();
        for (Section section : Section.values()) {
            out.println(section.yamlName() + ":");
            for (ConfigKey k : ConfigKeys.ALL) {
                if (k.section() != section || !k.scope().appliesTo(task)) continue;
                Object value = v.get(k.name());
                boolean changed = isChanged(v, k, value);
                StringBuilder line = new StringBuilder(changed ? "  * " : "    ");
                // values line up after the keys; the few very long kohya names (cache_text_encoder_outputs_to_disk) push theirs
                line.append(String.format("%-" + KEY_COLUMN + "s", k.name()));
                for (int gap = Math.max(0, KEY_COLUMN - k.name().length()); gap < 2; gap++) line.append(' ');   // at least two spaces
                if (value == null && k.name().equals("train_data_dir") && v.isSet("subsets")) {
                    value = loaded.config().data().trainDataDir();   // derived: the folder of the subsets
                    line.append(value).append("   (the folder that holds the subsets)");
                    out.println(line);
                    continue;
                }
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
