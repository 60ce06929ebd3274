package org.lorascripts.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Reads a config file into raw entries, keeping the line of every key. Accepts the flat form
 * (all keys at the top level) and the nested form (keys under model_config:, train_config:, ...;
 * any key in any section). Unknown keys (with the closest valid one), duplicate keys (also a key
 * and its alias, or one key in two sections) and misplaced sections are collected, one line each
 * naming file and line, so that all of them are reported together; a YAML syntax error stops the
 * reading at once (nothing after it can be trusted), see {@link SafeYaml}.
 */
final class YamlConfigReader {
    /** Larger files are refused before reading: a config is a few KB, anything this big is the wrong file. */
    static final long MAX_FILE_BYTES = 4L << 20;

    private final String source;
    private final ConfigProblems problems;
    private final Map<String, RawEntry> entries = new LinkedHashMap<>();

    private YamlConfigReader(String source, ConfigProblems problems) {
        this.source = source;
        this.problems = problems;
    }

    /**
     * @param displayName how the file is named in messages (the path as the user typed it)
     * @param problems    receives the problems of individual keys; file-level problems throw
     */
    static List<RawEntry> read(Path file, String displayName, ConfigProblems problems) {
        String text;
        try {
            if (Files.isRegularFile(file) && Files.size(file) > MAX_FILE_BYTES) {
                throw new ConfigException(displayName + ": " + Files.size(file) + " bytes is far too large for a config file"
                        + " (they are a few KB); is it the right file?");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file not found: " + displayName);
        } catch (CharacterCodingException e) {
            throw new ConfigException(displayName + ": not UTF-8 text; save the config file as UTF-8");
        } catch (IOException e) {
            throw new ConfigException(displayName + ": cannot read the config file (" + e.getMessage() + ")");
        }
        return readText(text, displayName, problems);
    }

    static List<RawEntry> readText(String text, String displayName, ConfigProblems problems) {
        Optional<Node> root = SafeYaml.compose(text, displayName);
        if (root.isEmpty()) {
            throw new ConfigException(displayName + ": the config file is empty; see examples/quickstart.yaml");
        }
        if (!(root.get() instanceof MappingNode mapping)) {
            throw new ConfigException(displayName + ":" + line(root.get())
                    + ": the config must be 'key: value' lines, got " + toRaw(root.get()).shown());
        }
        YamlConfigReader reader = new YamlConfigReader(displayName, problems);
        reader.readMapping(mapping, null);
        return new ArrayList<>(reader.entries.values());
    }

    private void readMapping(MappingNode mapping, Section enclosing) {
        for (NodeTuple t : mapping.getValue()) {
            Node keyNode = t.getKeyNode();
            Origin origin = Origin.file(source, line(keyNode));
            if (!(keyNode instanceof ScalarNode k)) {
                problems.add(origin, "keys must be plain names like 'learning_rate', got " + toRaw(keyNode).shown());
                continue;
            }
            String name = k.getValue();
            Optional<Section> section = Section.byYamlName(name);
            if (section.isPresent()) {
                readSection(section.get(), t.getValueNode(), enclosing, origin);
                continue;
            }
            Optional<ConfigKey> key = ConfigKeys.lookup(name);
            if (key.isEmpty()) {
                problems.add(origin, unknownKey(origin, name));
                continue;
            }
            add(new RawEntry(key.get(), name, toRaw(t.getValueNode()), origin));
        }
    }

    private void readSection(Section section, Node value, Section enclosing, Origin origin) {
        if (enclosing != null) {
            problems.add(origin, section.yamlName() + " cannot be nested inside " + enclosing.yamlName()
                    + "; sections are one level deep (or put every key at the top level)");
        } else if (value instanceof MappingNode m) {
            readMapping(m, section);
        } else if (!(toRaw(value) instanceof RawValue.Null || toRaw(value) instanceof RawValue.Empty)) {
            problems.add(origin, section.yamlName() + " must hold indented 'key: value' lines, got " + toRaw(value).shown());
        }
    }

    private void add(RawEntry e) {
        RawEntry first = entries.putIfAbsent(e.key().name(), e);
        if (first == null) return;
        if (first.written().equals(e.written())) {
            problems.add(e.origin(), "duplicate key '" + e.written() + "' (first set at line " + first.origin().line() + "); keep one");
        } else {
            problems.add(e.origin(), "'" + e.written() + "' and '" + first.written() + "' (line " + first.origin().line()
                    + ") are the same setting; keep one");
        }
        problems.fail(e.key()); // which of the two was meant is unknown, so rules on this key would guess
    }

    static ConfigException unknownKey(Origin origin, String name) {
        String hint = ClosestName.hint(name, ConfigKeys.allSpellings());
        if (hint.isEmpty()) hint = "; run './lora train --list-keys' to see all keys";
        return ConfigException.at(origin, "unknown key '" + name + "'" + hint);
    }

    /**
     * The raw value of a node. Only a bounded depth is looked into: a list of scalars, or a list of
     * mappings whose values are scalars or lists of scalars ({@code subsets:}). No key takes more, and an
     * alias can make a node contain itself ({@code &a [*a]}), which a full walk would follow forever.
     */
    static RawValue toRaw(Node node) {
        return switch (node) {
            case SequenceNode q -> new RawValue.Sequence(q.getValue().stream().map(YamlConfigReader::toRawItem).toList());
            default -> toRawFlat(node);
        };
    }

    /** An item of a list: a scalar, or a mapping of scalars and lists of scalars (one subset). */
    private static RawValue toRawItem(Node node) {
        if (!(node instanceof MappingNode m)) return toRawFlat(node);
        List<RawValue.Field> fields = new ArrayList<>();
        for (NodeTuple t : m.getValue()) {
            String key = t.getKeyNode() instanceof ScalarNode k ? k.getValue() : "";
            RawValue value = t.getValueNode() instanceof SequenceNode q
                    ? new RawValue.Sequence(q.getValue().stream().map(YamlConfigReader::toRawFlat).toList())
                    : toRawFlat(t.getValueNode());
            fields.add(new RawValue.Field(key, value, line(t.getKeyNode())));
        }
        return new RawValue.Mapping(fields);
    }

    private static RawValue toRawFlat(Node node) {
        return switch (node) {
            // `key:` leaves an empty plain scalar; `key: ""` is quoted, so it is an (empty) string
            case ScalarNode s when s.isPlain() && s.getValue().isEmpty() -> new RawValue.Empty();
            case ScalarNode s when s.getTag().equals(Tag.NULL) || (s.isPlain() && isNullWord(s.getValue())) -> new RawValue.Null();
            case ScalarNode s -> new RawValue.Scalar(s.getValue());
            case SequenceNode q -> new RawValue.Sequence(List.of()); // a list in a list: refused by the value's parser
            default -> RawValue.Mapping.empty();
        };
    }

    /** YAML 1.2 core-schema nulls, whichever schema the parser was set to. */
    static boolean isNullWord(String text) {
        return switch (text) {
            case "~", "null", "Null", "NULL" -> true;
            default -> false;
        };
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }
}
