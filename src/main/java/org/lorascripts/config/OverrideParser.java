package org.lorascripts.config;

import java.util.Optional;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * Parses one {@code --set KEY=VALUE} argument. KEY may carry a section prefix
 * ({@code train_config.learning_rate}); VALUE is taken literally, except that list keys accept
 * a YAML flow list ({@code [a, b]}; {@code --set text_encoder_lr=[1e-5,5e-6]}). An empty VALUE, {@code ~} or {@code null} resets the key to its
 * default, as {@code key: ~} does in the file (a command line cannot delete a line of the file).
 * Booleans follow the same rule as the file ({@link ValueParser}): {@code --set flip_aug=yes} is true.
 */
final class OverrideParser {
    private OverrideParser() {}

    static RawEntry parse(String argument) {
        Origin origin = Origin.override(argument);
        int eq = argument.indexOf('=');
        if (eq <= 0) {
            throw ConfigException.at(origin, "expected KEY=VALUE, e.g. --set learning_rate=2e-4");
        }
        String name = argument.substring(0, eq).strip();
        String value = argument.substring(eq + 1);
        int dot = name.indexOf('.');
        if (dot > 0 && Section.byYamlName(name.substring(0, dot)).isPresent()) name = name.substring(dot + 1);
        String written = name;
        ConfigKey key = ConfigKeys.lookup(name).orElseThrow(() -> YamlConfigReader.unknownKey(origin, written));
        return new RawEntry(key, name, rawValue(key, value.strip(), origin), origin);
    }

    private static RawValue rawValue(ConfigKey key, String value, Origin origin) {
        if (value.isEmpty() || YamlConfigReader.isNullWord(value)) return new RawValue.Null();
        boolean list = key.kind() == ValueKind.NAME_LIST || key.kind() == ValueKind.TEXT_LIST || key.kind() == ValueKind.DATASET_LIST
                || key.kind() == ValueKind.RESOLUTION || key.kind() == ValueKind.NUMBER_LIST
                || key.kind() == ValueKind.SUBSETS;
        if (!list || !value.startsWith("[")) return new RawValue.Scalar(value);
        try {
            Optional<Node> node = SafeYaml.compose(value, origin.toString());
            return node.map(YamlConfigReader::toRaw).orElse(new RawValue.Null());
        } catch (ConfigException e) {
            throw ConfigException.at(origin, key.name() + " must be a list like [a, b], got '" + value + "'");
        }
    }
}
