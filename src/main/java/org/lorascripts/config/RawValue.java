package org.lorascripts.config;

import java.util.List;

/** A config value before typing: what the YAML file or a {@code --set} argument said. */
sealed interface RawValue {
    /** A scalar's text exactly as written (YAML tags ignored: {@code 1e-4} stays "1e-4"). */
    record Scalar(String text) implements RawValue {}

    /**
     * An explicit YAML null ({@code key: ~}, {@code key: null}) or an empty {@code --set key=}:
     * "use the default", said on purpose.
     */
    record Null() implements RawValue {}

    /**
     * {@code key:} with nothing after it. Usually a value that was forgotten or deleted, so it is
     * an error rather than a silent default (write {@code ~} or remove the line for the default).
     */
    record Empty() implements RawValue {}

    record Sequence(List<RawValue> items) implements RawValue {}

    /**
     * A mapping: its fields in the order written, each with its line (0 when unknown). Only the items
     * of a list key that takes mappings ({@code subsets:}) are read into fields; elsewhere a mapping is
     * refused by the value's parser, whatever it holds.
     */
    record Mapping(List<Field> fields) implements RawValue {
        public Mapping { fields = List.copyOf(fields); }

        static Mapping empty() { return new Mapping(List.of()); }
    }

    /** One {@code key: value} of a {@link Mapping}. */
    record Field(String key, RawValue value, int line) {}

    /** How the value is shown back in "got ..." messages: a scalar quoted, else its kind. */
    default String shown() {
        return switch (this) {
            case Scalar s -> "'" + s.text() + "'";
            case Null n -> "null";
            case Empty n -> "nothing";
            case Sequence q -> "a list";
            case Mapping m -> "a mapping";
        };
    }
}
