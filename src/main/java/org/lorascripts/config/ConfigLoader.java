package org.lorascripts.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a {@link TrainConfig}: reads the YAML file (flat or nested form), applies
 * {@code --set KEY=VALUE} overrides (they win over the file; a later one wins over an earlier
 * one), types and range-checks every value with {@link ValueParser}, checks cross-key rules and
 * required keys, and collects warnings. Relative paths in the file resolve against the file's
 * folder; relative paths in {@code --set} against the working directory.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** Loads {@code file}; {@code overrides} are {@code KEY=VALUE} strings as given to {@code --set}. */
    public static LoadedConfig load(Path file, List<String> overrides) {
        String display = file.toString();
        List<RawEntry> entries = YamlConfigReader.read(file, display);
        Path baseDir = file.toAbsolutePath().normalize().getParent();
        return bind(entries, overrides, display, baseDir);
    }

    /** Loads YAML text as if it were a file named {@code displayName} in {@code baseDir}. */
    public static LoadedConfig loadText(String yaml, String displayName, Path baseDir, List<String> overrides) {
        return bind(YamlConfigReader.readText(yaml, displayName), overrides, displayName, baseDir.toAbsolutePath());
    }

    /**
     * Loads settings given in code. Values are strings, numbers, booleans, paths or lists of
     * those, checked by the same rules as YAML; errors name the source as {@code <settings>}.
     */
    public static LoadedConfig fromMap(Map<String, ?> settings, Path baseDir) {
        List<RawEntry> entries = new ArrayList<>();
        Origin origin = Origin.file("<settings>", 0);
        for (var e : settings.entrySet()) {
            ConfigKey key = ConfigKeys.lookup(e.getKey()).orElseThrow(() -> YamlConfigReader.unknownKey(origin, e.getKey()));
            entries.add(new RawEntry(key, e.getKey(), toRaw(e.getValue()), origin));
        }
        return bind(entries, List.of(), "<settings>", baseDir.toAbsolutePath());
    }

    private static RawValue toRaw(Object o) {
        if (o == null) return new RawValue.Null();
        if (o instanceof List<?> list) return new RawValue.Sequence(list.stream().map(ConfigLoader::toRaw).toList());
        if (o instanceof ConfigChoice c) return new RawValue.Scalar(c.configName());
        if (o instanceof Map<?, ?>) return new RawValue.Mapping();
        return new RawValue.Scalar(String.valueOf(o));
    }

    private static LoadedConfig bind(List<RawEntry> fileEntries, List<String> overrides, String source, Path baseDir) {
        Map<String, RawEntry> entries = new LinkedHashMap<>();
        for (RawEntry e : fileEntries) entries.put(e.key().name(), e);
        for (String o : overrides) {
            RawEntry e = OverrideParser.parse(o);
            entries.remove(e.key().name()); // keep "read order" = the order the user's intent was stated
            entries.put(e.key().name(), e);
        }
        ConfigValues values = new ConfigValues(source, baseDir);
        for (RawEntry e : entries.values()) {
            if (e.value() instanceof RawValue.Null && e.key().required()) {
                throw ConfigException.at(e.origin(), e.written() + " has no value; " + e.key().help());
            }
            Object typed = ValueParser.parse(e, baseDir);
            if (typed != null) values.put(e.key(), typed, e.origin(), e.written());
        }
        for (ConfigKey k : ConfigKeys.ALL) {
            if (k.required() && !values.isSet(k.name())) {
                throw new ConfigException(source + ": missing required key '" + k.name() + "': " + k.help());
            }
        }
        ConfigValidator.validate(values);
        TrainConfig config = TrainConfig.from(values);
        return new LoadedConfig(config, values, List.copyOf(ConfigAdvisor.forConfig(config, values)));
    }
}
