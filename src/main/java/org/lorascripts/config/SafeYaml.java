package org.lorascripts.config;

import java.util.Optional;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.composer.Composer;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.ReaderException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.parser.Parser;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;

/**
 * Parses YAML text into nodes with limits that a hostile or broken file cannot get past, and turns
 * every failure into one line {@code FILE:LINE:COLUMN: YAML syntax error: ...}:
 * <ul>
 * <li>aliases of lists or mappings are capped ({@code maxAliasesForCollections}), which stops
 *     "billion laughs" files; a config needs one or two at most;</li>
 * <li>nesting is capped at {@link #MAX_DEPTH} levels: the composer recurses per level, so
 *     {@code [[[[...} thousands deep would otherwise end in a StackOverflowError;</li>
 * <li>the text is capped at {@link #MAX_CODE_POINTS} code points ({@code codePointLimit});</li>
 * <li>control characters such as NUL (the parser refuses them) are reported at their line and column.</li>
 * </ul>
 * snakeyaml-engine has no nesting-depth setting and reports the alias limit without a position,
 * so the parser is wrapped: it counts depth and remembers where the last event started.
 */
final class SafeYaml {
    static final int MAX_ALIASES_FOR_COLLECTIONS = 10;
    /** A config is a mapping of sections of keys of lists: 3 levels; 16 leaves room for odd but legal files. */
    static final int MAX_DEPTH = 16;
    static final int MAX_CODE_POINTS = 1 << 20;

    private SafeYaml() {}

    static Optional<Node> compose(String text, String displayName) {
        return compose(text, displayName, MAX_CODE_POINTS);
    }

    static Optional<Node> compose(String text, String displayName, int codePointLimit) {
        // checked here too: the parser counts only what it reads through, which a long comment is not
        if (text.length() > codePointLimit && text.codePointCount(0, text.length()) > codePointLimit) {
            return fail(displayName + ": the config file is longer than " + codePointLimit + " characters; is it the right file?");
        }
        LoadSettings settings = LoadSettings.builder().setLabel(displayName)
                .setMaxAliasesForCollections(MAX_ALIASES_FOR_COLLECTIONS)
                .setAllowRecursiveKeys(false)
                .setCodePointLimit(codePointLimit)
                .build();
        GuardedParser parser = new GuardedParser(new ParserImpl(settings, new StreamReader(settings, text)), displayName);
        try {
            return new Composer(settings, parser).getSingleNode();
        } catch (MarkedYamlEngineException e) {
            throw syntaxError(e, displayName);
        } catch (ReaderException e) {
            String what = e.getCodePoint() == 0 ? "a NUL byte" : String.format("the control character U+%04X", e.getCodePoint());
            return fail(displayName + position(text, e.getPosition()) + ": YAML syntax error: found " + what
                    + " (the file is not plain text; remove it or save the file as UTF-8 text)");
        } catch (YamlEngineException e) {
            String m = oneLine(e.getMessage());
            if (m.contains("exceeds the limit")) {
                return fail(displayName + ": the config file is longer than " + codePointLimit + " characters; is it the right file?");
            }
            if (m.contains("aliases for non-scalar nodes")) {
                m = "more than " + MAX_ALIASES_FOR_COLLECTIONS + " aliases (*name) of lists or mappings; write the values out";
            } else if (m.startsWith("Version{")) {  // all the parser says about a %YAML directive of another major version
                m = "unsupported %YAML version directive (remove the %YAML line)";
            }
            return fail(displayName + parser.lastPosition() + ": YAML syntax error: " + m);
        }
    }

    private static <T> T fail(String message) {
        throw new ConfigException(message);
    }

    private static ConfigException syntaxError(MarkedYamlEngineException e, String displayName) {
        String problem = oneLine(e.getProblem() != null ? e.getProblem() : e.getContext());
        boolean unclosed = problem.contains("end of stream") || problem.contains("<stream end>");
        // For an unclosed quote or bracket the parser's problem is at the end of the file; the
        // context mark is where the unclosed thing starts, which is the line to fix.
        Optional<Mark> mark = unclosed ? e.getContextMark().or(e::getProblemMark) : e.getProblemMark().or(e::getContextMark);
        String where = displayName + mark.map(SafeYaml::position).orElse("");
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

    /** ":LINE:COLUMN", both counted from 1. */
    private static String position(Mark m) {
        return ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1);
    }

    /** ":LINE:COLUMN" of the code point at {@code index} (line breaks as YAML counts them: \n, \r\n, \r). */
    static String position(String text, int index) {
        int line = 1, column = 1, seen = 0;
        for (int i = 0; i < text.length() && seen < index; seen++) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            boolean crlf = cp == '\r' && i < text.length() && text.charAt(i) == '\n';
            if (cp == '\n' || (cp == '\r' && !crlf)) {
                line++;
                column = 1;
            } else if (!crlf) {
                column++;
            }
        }
        return ":" + line + ":" + column;
    }

    private static String oneLine(String s) {
        return s == null ? "unreadable YAML" : s.replaceAll("\\s+", " ").strip();
    }

    /** The parser, plus a depth limit and the position of the last event handed to the composer. */
    private static final class GuardedParser implements Parser {
        private final Parser inner;
        private final String displayName;
        private int depth;
        private Mark last;

        GuardedParser(Parser inner, String displayName) {
            this.inner = inner;
            this.displayName = displayName;
        }

        String lastPosition() { return last == null ? "" : position(last); }

        @Override public boolean checkEvent(Event.ID id) { return inner.checkEvent(id); }

        @Override public Event peekEvent() { return inner.peekEvent(); }

        @Override public boolean hasNext() { return inner.hasNext(); }

        @Override public Event next() {
            Event e = inner.next();
            e.getStartMark().ifPresent(m -> last = m);
            switch (e.getEventId()) {
                case SequenceStart, MappingStart -> {
                    if (++depth > MAX_DEPTH) {
                        throw new ConfigException(displayName + lastPosition() + ": YAML syntax error: nested more than "
                                + MAX_DEPTH + " levels deep (a config needs 3: section, key, list)");
                    }
                }
                case SequenceEnd, MappingEnd -> depth--;
                default -> { }
            }
            return e;
        }
    }
}
