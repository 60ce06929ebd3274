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
 *
 * <p>Every problem of the file and the overrides is collected and thrown together, as one
 * {@link ConfigException} with a line per problem, so one run shows all that needs fixing.
 * Only a YAML syntax error stops at once (the rest of the file cannot be read reliably).
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /**
     * Loads {@code file}; {@code overrides} are {@code KEY=VALUE} strings as given to {@code --set}. A
     * {@code .toml} file is one of kohya sd-scripts' ({@link KohyaImport}): its training arguments, or a
     * dataset config.
     */
    public static LoadedConfig load(Path file, List<String> overrides) {
        if (KohyaImport.isToml(file)) return load(KohyaImport.read(file), overrides);
        String display = file.toString();
        ConfigProblems problems = new ConfigProblems();
        List<RawEntry> entries = YamlConfigReader.read(file, display, problems);
        Path baseDir = file.toAbsolutePath().normalize().getParent();
        return bind(entries, overrides, display, baseDir, problems);
    }

    /**
     * Loads converted kohya files: values are checked as a YAML file's are, and problems name the TOML
     * file and line; the conversion's warnings (kohya keys not used) come first among the warnings.
     */
    public static LoadedConfig load(KohyaImport.Conversion kohya, List<String> overrides) {
        ConfigProblems problems = new ConfigProblems();
        LoadedConfig loaded = bind(kohya.entries(), overrides, kohya.source(), kohya.baseDir(), problems);
        List<ConfigWarning> warnings = new ArrayList<>(kohya.warnings());
        warnings.addAll(loaded.warnings());
        return new LoadedConfig(loaded.config(), loaded.values(), List.copyOf(warnings));
    }

    /** Loads YAML text as if it were a file named {@code displayName} in {@code baseDir}. */
    public static LoadedConfig loadText(String yaml, String displayName, Path baseDir, List<String> overrides) {
        ConfigProblems problems = new ConfigProblems();
        return bind(YamlConfigReader.readText(yaml, displayName, problems), overrides, displayName, baseDir.toAbsolutePath(), problems);
    }

    /**
     * Loads settings given in code. Values are strings, numbers, booleans, paths or lists of
     * those, checked by the same rules as YAML; errors name the source as {@code <settings>}.
     */
    public static LoadedConfig fromMap(Map<String, ?> settings, Path baseDir) {
        List<RawEntry> entries = new ArrayList<>();
        ConfigProblems problems = new ConfigProblems();
        Origin origin = Origin.file("<settings>", 0);
        for (var e : settings.entrySet()) {
            var key = ConfigKeys.lookup(e.getKey());
            if (key.isEmpty()) problems.add(origin, YamlConfigReader.unknownKey(origin, e.getKey()));
            else entries.add(new RawEntry(key.get(), e.getKey(), toRaw(e.getValue()), origin));
        }
        return bind(entries, List.of(), "<settings>", baseDir.toAbsolutePath(), problems);
    }

    private static RawValue toRaw(Object o) {
        if (o == null) return new RawValue.Null();
        if (o instanceof List<?> list) return new RawValue.Sequence(list.stream().map(ConfigLoader::toRaw).toList());
        if (o instanceof ConfigChoice c) return new RawValue.Scalar(c.configName());
        if (o instanceof Map<?, ?> m) {
            List<RawValue.Field> fields = new ArrayList<>();
            for (var e : m.entrySet()) fields.add(new RawValue.Field(String.valueOf(e.getKey()), toRaw(e.getValue()), 0));
            return new RawValue.Mapping(fields);
        }
        return new RawValue.Scalar(String.valueOf(o));
    }

    private static LoadedConfig bind(List<RawEntry> fileEntries, List<String> overrides, String source, Path baseDir,
                                     ConfigProblems problems) {
        Map<String, RawEntry> entries = new LinkedHashMap<>();
        for (RawEntry e : fileEntries) entries.put(e.key().name(), e);
        problems.overrides(overrides);
        for (String o : overrides) {
            try {
                RawEntry e = OverrideParser.parse(o);
                entries.remove(e.key().name()); // keep "read order" = the order the user's intent was stated
                entries.put(e.key().name(), e);
            } catch (ConfigException bad) {
                problems.add(Origin.override(o), bad);
            }
        }
        ConfigValues values = new ConfigValues(source, baseDir);
        for (RawEntry e : entries.values()) {
            boolean noValue = e.value() instanceof RawValue.Null || e.value() instanceof RawValue.Empty;
            if (noValue && e.key().required()) {
                problems.add(e.origin(), e.written() + " has no value; " + e.key().help());
                problems.fail(e.key());
                continue;
            }
            try {
                Object typed = ValueParser.parse(e, baseDir);
                if (typed != null) values.put(e.key(), typed, e.origin(), e.written());
            } catch (ConfigException bad) {
                problems.add(e.origin(), bad);
                problems.fail(e.key());
            }
        }
        for (ConfigKey k : ConfigKeys.ALL) {
            // kohya's dataset config replaces train_data_dir: subsets name the image folders themselves
            boolean replaced = k.name().equals("train_data_dir") && (values.isSet("subsets") || problems.failed("subsets")
                    || values.isSet("train_data") || problems.failed("train_data"));
            if (k.required() && !replaced && !values.isSet(k.name()) && !problems.failed(k.name())) {
                problems.add(Origin.file(source, 0), "missing required key '" + k.name() + "': " + k.help());
            }
        }
        List<ConfigWarning> notes = ConfigValidator.validate(values, problems);
        problems.throwIfAny();
        TrainConfig config = TrainConfig.from(values);
        List<ConfigWarning> warnings = new ArrayList<>(notes);
        warnings.addAll(ConfigAdvisor.forConfig(config, values));
        return new LoadedConfig(config, values, List.copyOf(warnings));
    }
}
