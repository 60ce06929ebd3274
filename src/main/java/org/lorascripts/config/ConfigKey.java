package org.lorascripts.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One row of the key registry ({@link ConfigKeys}): everything the binder, {@code --set}, the
 * dry-run printer and the generated docs need to know about a setting.
 *
 * @param defaultValue typed default (null: unset/optional, or derived from {@code derivedFrom})
 * @param min          inclusive lower bound (null: open; Double.MIN_VALUE: "> 0")
 * @param max          upper bound, inclusive unless {@code maxExclusive} (null: open)
 * @param choices      allowed spellings for CHOICE keys, or allowed integers for INT keys
 * @param choiceType   enum class of a CHOICE key
 * @param derivedFrom  key whose value is used when this one is unset (lora_alpha = lora_rank)
 * @param defaultLabel how the default is shown in docs when it is not a plain value
 * @param maxItems     for NUMBER_LIST keys, the most numbers a list may hold (one number is always allowed)
 */
public record ConfigKey(String name, Section section, TaskScope scope, ValueKind kind,
                        Object defaultValue, Double min, Double max, boolean maxExclusive,
                        List<String> choices, Class<? extends Enum<?>> choiceType,
                        boolean required, String derivedFrom, String defaultLabel,
                        List<String> aliases, String help, int maxItems) {

    /** How a valid value looks, for "x must be ..., got 'y'" messages. */
    public String expectation() {
        return switch (kind) {
            case INT -> choices.isEmpty() ? "an integer" + range() : "one of " + String.join(", ", choices);
            case FLOAT -> "a number" + range();
            case NUMBER_LIST -> "a number" + range() + " or a list of 1 to " + maxItems + " such numbers";
            case BOOL -> "true or false";
            case CHOICE -> "one of " + String.join(", ", choices);
            case STRING -> "a non-empty string";
            case PATH -> "a file or folder path";
            case MODEL -> "a model path or one of "
                    + String.join(", ", BaseModel.BUILTIN_NAMES.stream().map(n -> BaseModel.BUILTIN_PREFIX + n).toList());
            case NAME_LIST -> "a list of names (or one comma-separated string)";
            case TEXT_LIST -> "a list of strings";
            case DATASET_LIST -> "a list of file or folder paths (or one comma-separated string), or of mappings {path: data.jsonl, probability: 0.7}";
            case RESOLUTION -> "a multiple of 8 between 8 and 8192, like 512 or \"768,512\" (width,height)";
            case DEVICE -> "one of auto, cpu, cuda, cuda:N";
            case SUBSETS -> "a list of subsets, each a mapping like {image_dir: data/10_style, num_repeats: 10}";
        };
    }

    /** What to write instead of an empty value, for "KEY: empty value; give ... or remove the line". */
    public String emptyHint() {
        return switch (kind) {
            case INT, FLOAT -> "a number";
            case NUMBER_LIST -> "a number or a list of numbers";
            case BOOL -> "true/false";
            case CHOICE -> "a value (" + String.join(", ", choices) + ")";
            case DEVICE -> "a device (auto, cpu, cuda, cuda:N)";
            case STRING -> "a value";
            case PATH -> "a path";
            case MODEL -> "a model path or a builtin: model";
            case NAME_LIST, TEXT_LIST -> "a list";
            case DATASET_LIST -> "a list of paths";
            case RESOLUTION -> "a resolution like 512";
            case SUBSETS -> "a list of subsets";
        };
    }

    private String bound(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e7 ? Long.toString((long) v) : NumberText.format(v, kind);
    }

    private String range() {
        if (min == null && max == null) return "";
        if (min != null && min == Double.MIN_VALUE) return max == null ? " > 0" : " in (0, " + bound(max) + "]";
        if (max == null) return " >= " + bound(min);
        if (min == null) return (maxExclusive ? " < " : " <= ") + bound(max);
        if (kind == ValueKind.INT) return " in " + bound(min) + ".." + bound(max);
        return " in [" + bound(min) + ", " + bound(max) + (maxExclusive ? ")" : "]");
    }

    /** The default as shown to users: the value, its derivation, or "(none)". */
    public String defaultText() {
        if (defaultLabel != null) return defaultLabel;
        if (derivedFrom != null) return "= " + derivedFrom;
        if (defaultValue == null) return required ? "(required)" : "(none)";
        return ValueText.format(defaultValue, kind);
    }

    static Builder builder(String name, Section section) { return new Builder(name, section); }

    /** Fluent construction of registry rows; see {@link ConfigKeys}. */
    static final class Builder {
        private final String name;
        private final Section section;
        private TaskScope scope = TaskScope.ALL;
        private ValueKind kind = ValueKind.STRING;
        private Object def;
        private Double min, max;
        private boolean maxExclusive, required;
        private List<String> choices = List.of();
        private Class<? extends Enum<?>> choiceType;
        private String derivedFrom, defaultLabel, help = "";
        private final List<String> aliases = new ArrayList<>();
        private int maxItems;

        private Builder(String name, Section section) { this.name = name; this.section = section; }

        Builder integer(int min, int max) { kind = ValueKind.INT; this.min = (double) min; this.max = (double) max; return this; }
        Builder integerAtLeast(int min) { kind = ValueKind.INT; this.min = (double) min; return this; }
        Builder integerOneOf(int... allowed) {
            kind = ValueKind.INT;
            choices = Arrays.stream(allowed).mapToObj(Integer::toString).toList();
            return this;
        }
        Builder number(double min, double max) { kind = ValueKind.FLOAT; this.min = min; this.max = max; return this; }
        Builder numberBelow(double min, double maxExclusive) { number(min, maxExclusive); this.maxExclusive = true; return this; }
        Builder numberAtLeast(double min) { kind = ValueKind.FLOAT; this.min = min; return this; }
        /** Strictly positive: stored as min = Double.MIN_VALUE and shown as "> 0". */
        Builder positiveNumber() { kind = ValueKind.FLOAT; this.min = Double.MIN_VALUE; return this; }
        /** One number > 0, or a list of 1 to {@code maxItems} of them (text_encoder_lr: one per text encoder). */
        Builder positiveNumbers(int maxItems) {
            kind = ValueKind.NUMBER_LIST;
            this.min = Double.MIN_VALUE;
            this.maxItems = maxItems;
            return this;
        }
        Builder bool() { kind = ValueKind.BOOL; return this; }
        <E extends Enum<E> & ConfigChoice> Builder choice(Class<E> type) {
            kind = ValueKind.CHOICE;
            choiceType = type;
            choices = Arrays.stream(type.getEnumConstants()).map(ConfigChoice::configName).toList();
            return this;
        }
        Builder string() { kind = ValueKind.STRING; return this; }
        Builder path() { kind = ValueKind.PATH; return this; }
        Builder model() { kind = ValueKind.MODEL; return this; }
        Builder names() { kind = ValueKind.NAME_LIST; return this; }
        Builder paths() { kind = ValueKind.DATASET_LIST; return this; }
        /** A list of 1 to {@code maxItems} numbers in [min, max] (one number, a YAML list or "0.7,0.3"). */
        Builder numbers(double min, double max, int maxItems) {
            kind = ValueKind.NUMBER_LIST;
            this.min = min;
            this.max = max;
            this.maxItems = maxItems;
            return this;
        }
        Builder texts() { kind = ValueKind.TEXT_LIST; return this; }
        Builder resolution() { kind = ValueKind.RESOLUTION; return this; }
        Builder device() { kind = ValueKind.DEVICE; return this; }
        Builder subsets() { kind = ValueKind.SUBSETS; return this; }
        Builder def(Object value) { def = value; return this; }
        Builder derivedFrom(String key) { derivedFrom = key; return this; }
        Builder defaultLabel(String label) { defaultLabel = label; return this; }
        Builder required() { required = true; return this; }
        Builder alias(String... names) { aliases.addAll(List.of(names)); return this; }
        Builder image() { scope = TaskScope.IMAGE; return this; }
        Builder text() { scope = TaskScope.TEXT; return this; }
        Builder help(String text) { help = text; return this; }

        ConfigKey build() {
            return new ConfigKey(name, section, scope, kind, def, min, max, maxExclusive, choices, choiceType,
                    required, derivedFrom, defaultLabel, List.copyOf(aliases), help, maxItems);
        }
    }
}
