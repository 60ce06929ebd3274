package org.lorascripts.config;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed values by registry key name, plus where each explicitly set value came from. Unset keys
 * read as their default, or as the key they derive from ({@code lora_alpha} reads as
 * {@code lora_rank}). {@link TrainConfig#from} builds the records from this; the dry-run printer
 * shows it.
 */
public final class ConfigValues {
    private final String source;
    private final Path baseDir;
    private final Map<String, Object> set = new LinkedHashMap<>();
    private final Map<String, Origin> origins = new LinkedHashMap<>();
    private final Map<String, String> written = new LinkedHashMap<>();
    private final java.util.Set<String> fitted = new java.util.HashSet<>();

    ConfigValues(String source, Path baseDir) {
        this.source = source;
        this.baseDir = baseDir;
    }

    void put(ConfigKey key, Object value, Origin origin, String writtenAs) {
        set.put(key.name(), value);
        origins.put(key.name(), origin);
        written.put(key.name(), writtenAs);
    }

    /**
     * A default the validator changed to fit other values (min_bucket_reso lowered to a small
     * resolution): it reads as set, but {@link #isSetByUser} stays false, so a later stage that knows
     * more (the model family) may still choose its own default.
     */
    void fit(ConfigKey key, Object value, Origin origin) {
        put(key, value, origin, key.name());
        fitted.add(key.name());
    }

    /** Set in the file or by {@code --set}, not merely fitted by the validator. */
    public boolean isSetByUser(String key) { return isSet(key) && !fitted.contains(ConfigKeys.get(key).name()); }

    /** The config file as named in messages. */
    public String source() { return source; }

    /** The folder relative paths were resolved against. */
    public Path baseDir() { return baseDir; }

    public boolean isSet(String key) { return set.containsKey(ConfigKeys.get(key).name()); }

    /** Names of the explicitly set keys, in the order they were read. */
    public List<String> setKeys() { return List.copyOf(set.keySet()); }

    /** Where the key was set; for an unset key, the config file without a line. */
    public Origin origin(String key) {
        ConfigKeys.get(key);
        return origins.getOrDefault(key, Origin.file(source, 0));
    }

    /** The spelling the user wrote (an alias stays an alias), or the key name. */
    public String written(String key) { return written.getOrDefault(key, key); }

    /** Effective value: the set one, else the derived one, else the default (null if none). */
    public Object get(String key) {
        return set.containsKey(key) ? set.get(key) : defaultValue(key);
    }

    /** What the key reads as when unset: derived from another key, or the registry default (paths resolved). */
    public Object defaultValue(String key) {
        ConfigKey k = ConfigKeys.get(key);
        if (k.derivedFrom() != null) return derive(k, get(k.derivedFrom()));
        Object def = k.defaultValue();
        if (def instanceof Path p && !p.isAbsolute()) return baseDir.resolve(p).normalize();
        return def;
    }

    /**
     * A derived default is the other key's value (lora_alpha = lora_rank), except that a name derived
     * from a folder is the folder's name: output_name defaults to output_dir's, so the LoRA of
     * {@code output_dir: output/my_style_lora} is my_style_lora.safetensors, {@code <lora:my_style_lora:0.8>}.
     */
    private static Object derive(ConfigKey k, Object from) {
        if (k.kind() == ValueKind.NUMBER_LIST && from instanceof Number n) return List.of(n.doubleValue());
        if (k.kind() == ValueKind.STRING && from instanceof Path dir) {
            Path name = dir.toAbsolutePath().normalize().getFileName();
            return name == null ? FALLBACK_NAME : name.toString();
        }
        return from;
    }

    /** output_name when output_dir has no name of its own (the file-system root). */
    static final String FALLBACK_NAME = "lora";

    public int integer(String key) { return (Integer) get(key); }

    /** Numbers; an integer key it derives from (lora_alpha from lora_rank) is widened. */
    public double number(String key) { return ((Number) get(key)).doubleValue(); }

    public Optional<Double> optionalNumber(String key) {
        return isSet(key) ? Optional.of(number(key)) : Optional.empty();
    }

    /** A NUMBER_LIST key: one or more numbers, as written (or the one number it derives from). */
    @SuppressWarnings("unchecked")
    public List<Double> numbers(String key) { return (List<Double>) get(key); }

    public boolean bool(String key) { return Boolean.TRUE.equals(get(key)); }

    public String string(String key) { return (String) get(key); }

    public Path path(String key) { return (Path) get(key); }

    @SuppressWarnings("unchecked")
    public List<String> list(String key) { return (List<String>) get(key); }

    public <E extends Enum<E>> E choice(String key, Class<E> type) { return type.cast(get(key)); }

    /** Explicitly set values only (for tests and the printer). */
    public Map<String, Object> explicitValues() { return Collections.unmodifiableMap(set); }
}
