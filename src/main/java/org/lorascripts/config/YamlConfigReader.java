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
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Reads a config file into raw entries, keeping the line of every key. Accepts the flat form
 * (all keys at the top level) and the nested form (keys under model_config:, train_config:, ...;
 * any key in any section). Rejects unknown keys (with the closest valid one), duplicate keys
 * (also a key and its alias, or one key in two sections) and YAML syntax errors, all as
 * one-line {@link ConfigException}s naming file and line.
 */
final class YamlConfigReader {
    private final String source;
    private final Map<String, RawEntry> entries = new LinkedHashMap<>();

    private YamlConfigReader(String source) { this.source = source; }

    /** @param displayName how the file is named in messages (the path as the user typed it) */
    static List<RawEntry> read(Path file, String displayName) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file not found: " + displayName);
        } catch (CharacterCodingException e) {
            throw new ConfigException(displayName + ": not UTF-8 text; save the config file as UTF-8");
        } catch (IOException e) {
            throw new ConfigException(displayName + ": cannot read the config file (" + e.getMessage() + ")");
        }
        return readText(text, displayName);
    }

    static List<RawEntry> readText(String text, String displayName) {
        Optional<Node> root;
        try {
            root = new Compose(LoadSettings.builder().setLabel(displayName).build()).composeString(text);
        } catch (MarkedYamlEngineException e) {
            throw syntaxError(e, displayName);
        } catch (YamlEngineException e) {
            throw new ConfigException(displayName + ": YAML error: " + oneLine(e.getMessage()));
        }
        if (root.isEmpty()) {
            throw new ConfigException(displayName + ": the config file is empty; see examples/quickstart.yaml");
        }
        if (!(root.get() instanceof MappingNode mapping)) {
            throw new ConfigException(displayName + ":" + line(root.get())
                    + ": the config must be 'key: value' lines, got " + toRaw(root.get()).shown());
        }
        YamlConfigReader reader = new YamlConfigReader(displayName);
        reader.readMapping(mapping, null);
        return new ArrayList<>(reader.entries.values());
    }

    private void readMapping(MappingNode mapping, Section enclosing) {
        for (NodeTuple t : mapping.getValue()) {
            Node keyNode = t.getKeyNode();
            Origin origin = Origin.file(source, line(keyNode));
            if (!(keyNode instanceof ScalarNode k)) {
                throw ConfigException.at(origin, "keys must be plain names like 'learning_rate'");
            }
            String name = k.getValue();
            Optional<Section> section = Section.byYamlName(name);
            if (section.isPresent()) {
                readSection(section.get(), t.getValueNode(), enclosing, origin);
                continue;
            }
            ConfigKey key = ConfigKeys.lookup(name).orElseThrow(() -> unknownKey(origin, name));
            add(new RawEntry(key, name, toRaw(t.getValueNode()), origin));
        }
    }

    private void readSection(Section section, Node value, Section enclosing, Origin origin) {
        if (enclosing != null) {
            throw ConfigException.at(origin, section.yamlName() + " cannot be nested inside " + enclosing.yamlName()
                    + "; sections are one level deep (or put every key at the top level)");
        }
        if (value instanceof MappingNode m) {
            readMapping(m, section);
        } else if (!(toRaw(value) instanceof RawValue.Null)) {
            throw ConfigException.at(origin, section.yamlName() + " must hold indented 'key: value' lines, got "
                    + toRaw(value).shown());
        }
    }

    private void add(RawEntry e) {
        RawEntry first = entries.putIfAbsent(e.key().name(), e);
        if (first == null) return;
        if (first.written().equals(e.written())) {
            throw ConfigException.at(e.origin(), "duplicate key '" + e.written() + "' (first set at line "
                    + first.origin().line() + "); keep one");
        }
        throw ConfigException.at(e.origin(), "'" + e.written() + "' and '" + first.written()
                + "' (line " + first.origin().line() + ") are the same setting; keep one");
    }

    private static ConfigException syntaxError(MarkedYamlEngineException e, String displayName) {
        String problem = oneLine(e.getProblem() != null ? e.getProblem() : e.getContext());
        boolean unclosed = problem.contains("end of stream");
        // For an unclosed quote or bracket the parser's problem is at the end of the file; the
        // context mark is where the unclosed thing starts, which is the line to fix.
        Optional<Mark> mark = unclosed ? e.getContextMark().or(e::getProblemMark) : e.getProblemMark().or(e::getContextMark);
        String where = displayName + mark.map(m -> ":" + (m.getLine() + 1)).orElse("");
        String hint;
        if (problem.contains("(TAB)")) {
            problem = "found a tab character";
            hint = " (indent with spaces, not tabs)";
        } else if (unclosed) {
            hint = " (a quote or bracket is not closed)";
            if (e.getContext() != null) problem = oneLine(e.getContext()) + ", " + problem;
        } else if (problem.contains("mapping values are not allowed")) {
            hint = " (check this line's indentation; quote values that contain ': ')";
        } else {
            hint = "";
        }
        return new ConfigException(where + ": YAML syntax error: " + problem + hint);
    }

    static ConfigException unknownKey(Origin origin, String name) {
        String hint = ClosestName.hint(name, ConfigKeys.allSpellings());
        if (hint.isEmpty()) hint = "; run './lora train --list-keys' to see all keys";
        return ConfigException.at(origin, "unknown key '" + name + "'" + hint);
    }

    static RawValue toRaw(Node node) {
        return switch (node) {
            case ScalarNode s when s.getTag().equals(Tag.NULL) || (s.isPlain() && isNullWord(s.getValue())) -> new RawValue.Null();
            case ScalarNode s -> new RawValue.Scalar(s.getValue());
            case SequenceNode q -> new RawValue.Sequence(q.getValue().stream().map(YamlConfigReader::toRaw).toList());
            default -> new RawValue.Mapping();
        };
    }

    /** YAML 1.2 core-schema nulls, whichever schema the parser was set to. */
    private static boolean isNullWord(String text) {
        return switch (text) {
            case "", "~", "null", "Null", "NULL" -> true;
            default -> false;
        };
    }

    private static int line(Node node) {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    private static String oneLine(String s) {
        return s == null ? "unreadable YAML" : s.replaceAll("\\s+", " ").strip();
    }
}
