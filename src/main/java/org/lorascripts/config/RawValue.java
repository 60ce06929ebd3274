package org.lorascripts.config;

import java.util.List;

/** A config value before typing: what the YAML file or a {@code --set} argument said. */
sealed interface RawValue {
    /** A scalar's text exactly as written (YAML tags ignored: {@code 1e-4} stays "1e-4"). */
    record Scalar(String text) implements RawValue {}

    /** YAML null: {@code key:}, {@code key: ~} or {@code key: null}. Means "use the default". */
    record Null() implements RawValue {}

    record Sequence(List<RawValue> items) implements RawValue {}

    record Mapping() implements RawValue {}

    /** How the value is shown back in "got ..." messages: a scalar quoted, else its kind. */
    default String shown() {
        return switch (this) {
            case Scalar s -> "'" + s.text() + "'";
            case Null n -> "null";
            case Sequence q -> "a list";
            case Mapping m -> "a mapping";
        };
    }
}
