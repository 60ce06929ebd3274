package org.lorascripts.gui;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.ConfigKey;
import org.lorascripts.config.ConfigKeys;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.LoadedConfig;
import org.lorascripts.config.Section;
import org.lorascripts.config.ValueKind;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Between the Train page's form (key → the text in its field) and YAML. The YAML written is the flat
 * form the CLI reads, one key a line, in registry order; text values are written as quoted strings so a
 * field can never add a key. Paths relative to the folder the values came from (a preset's) are made
 * absolute, so the file trains the same from wherever it is saved. Validation is the CLI's own:
 * {@link ConfigLoader} on the YAML, with its messages and warnings.
 */
final class FormYaml {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Values written unquoted: numbers, booleans, lists of numbers (the value parser types them). */
    private static final Pattern PLAIN = Pattern.compile("[0-9eE+\\-., \\[\\]]+|true|false|~");
    private static final Pattern FLOW = Pattern.compile("\\s*[\\[{].*", Pattern.DOTALL);

    private FormYaml() {}

    /** YAML for the non-empty fields of {@code form}; an unknown key is a {@link ConfigException}. */
    static String toYaml(Map<String, String> form) {
        List<String> unknown = new ArrayList<>();
        for (String name : form.keySet()) if (ConfigKeys.lookup(name).isEmpty()) unknown.add("unknown key '" + name + "'");
        if (!unknown.isEmpty()) throw new ConfigException(unknown);
        StringBuilder out = new StringBuilder("# written by ./lora gui; train with: ./lora train --config THIS_FILE\n");
        for (ConfigKey k : ConfigKeys.ALL) {
            String v = form.get(k.name());
            if (v == null || v.isBlank()) continue;
            out.append(k.name()).append(": ").append(value(k, v.strip())).append('\n');
        }
        return out.toString();
    }

    private static String value(ConfigKey k, String v) {
        if (k.kind() == ValueKind.TEXT_LIST) {
            List<String> items = v.lines().map(String::strip).filter(s -> !s.isEmpty()).map(FormYaml::quote).toList();
            return "[" + String.join(", ", items) + "]";
        }
        // subsets / train_data: a YAML flow list (of mappings), typed as such in the field; kept on one line
        if ((k.kind() == ValueKind.SUBSETS || k.kind() == ValueKind.DATASET_LIST) && FLOW.matcher(v).matches()) return v.replaceAll("[\\r\\n]+", " ");
        if (PLAIN.matcher(v).matches() && k.kind() != ValueKind.STRING && k.kind() != ValueKind.PATH) return v;
        return quote(v);
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);  // a JSON string is a YAML double-quoted scalar
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The fields of a YAML config (flat or nested in *_config sections): each known key's value as form
     * text; relative paths resolved against {@code baseDir}. Unknown keys are kept, so validation names them.
     */
    static Map<String, String> fromYaml(String yaml, Path baseDir) {
        Object doc = new Load(LoadSettings.builder().setMaxAliasesForCollections(10).setCodePointLimit(1 << 20).build())
                .loadFromString(yaml);
        Map<String, String> form = new LinkedHashMap<>();
        if (!(doc instanceof Map<?, ?> top)) return form;
        for (var e : top.entrySet()) {
            String name = String.valueOf(e.getKey());
            if (Section.byYamlName(name).isPresent() && e.getValue() instanceof Map<?, ?> section) {
                for (var f : section.entrySet()) put(form, String.valueOf(f.getKey()), f.getValue(), baseDir);
            } else {
                put(form, name, e.getValue(), baseDir);
            }
        }
        return form;
    }

    private static void put(Map<String, String> form, String name, Object value, Path baseDir) {
        var key = ConfigKeys.lookup(name);
        String field = key.map(ConfigKey::name).orElse(name);
        if (value == null) return;
        ValueKind kind = key.map(ConfigKey::kind).orElse(ValueKind.STRING);
        String text;
        if (kind == ValueKind.TEXT_LIST && value instanceof List<?> list) {
            text = String.join("\n", list.stream().map(String::valueOf).toList());
        } else if (kind == ValueKind.NAME_LIST && value instanceof List<?> list) {
            text = String.join(", ", list.stream().map(String::valueOf).toList());  // a string is split at commas
        } else if (value instanceof List<?> || value instanceof Map<?, ?>) {
            try {
                text = JSON.writeValueAsString(value);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        } else {
            text = String.valueOf(value);
        }
        if (kind == ValueKind.PATH || kind == ValueKind.MODEL) text = absolute(text, kind, baseDir);
        form.put(field, text);
    }

    private static String absolute(String text, ValueKind kind, Path baseDir) {
        if (text.isBlank() || text.startsWith("builtin:")) return text;
        try {
            Path p = Path.of(text);
            if (p.isAbsolute()) return text;
            Path resolved = baseDir.resolve(p).normalize();
            // a model may be ORG/NAME on the Hub: only a path that exists is taken as a path
            if (kind == ValueKind.MODEL && !Files.exists(resolved)) return text;
            return resolved.toString();
        } catch (java.nio.file.InvalidPathException e) {
            return text;
        }
    }

    /** The CLI loader's verdict on {@code yaml}: its error lines, or none and its warnings. */
    record Verdict(List<String> errors, List<String> warnings, String memory) {}

    static Verdict validate(String yaml, String displayName, Path baseDir) {
        try {
            LoadedConfig loaded = ConfigLoader.loadText(yaml, displayName, baseDir, List.of());
            String memory = org.lorascripts.train.MemoryEstimate.of(loaded.config()).map(m -> m.describe()).orElse(null);
            return new Verdict(List.of(), loaded.warnings().stream().map(ConfigWarning::message).toList(), memory);
        } catch (ConfigException e) {
            return new Verdict(e.problems(), List.of(), null);
        } catch (RuntimeException e) {
            return new Verdict(List.of(String.valueOf(e.getMessage())), List.of(), null);
        }
    }
}
