package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every {@code ./lora} command line shown to users parses: the examples in each subcommand's
 * {@code --help}, and those in README.md and docs/ (code blocks and inline code) and in the comments of
 * examples/*.yaml. They are parsed by picocli as {@link Main} would, never run, so a renamed or
 * misspelt option in an example fails here, and so does an example that uses a hidden old name.
 */
class CliExamplesTest {
    private static final String PROMPT = "./lora ";

    /** Subcommands at any depth (captions' tools too), the help command left out. */
    private static List<CommandLine> subcommands(CommandLine cmd) {
        List<CommandLine> all = new ArrayList<>();
        for (CommandLine sub : cmd.getSubcommands().values()) {
            if (sub.getCommand() instanceof CommandLine.HelpCommand || all.contains(sub)) continue;
            all.add(sub);
            all.addAll(subcommands(sub));
        }
        return all;
    }

    /** The arguments that select {@code cmd} ("captions", "freq" for lora captions freq). */
    private static List<String> path(CommandLine cmd) {
        List<String> names = new ArrayList<>(Arrays.asList(cmd.getCommandSpec().qualifiedName().split(" ")));
        return names.subList(1, names.size());
    }

    @Test
    void everySubcommandsHelpShowsExamplesThatParse() {
        int examples = 0;
        for (CommandLine sub : subcommands(Main.newCommandLine())) {
            List<String> args = new ArrayList<>(path(sub));
            args.add("--help");
            CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), args.toArray(String[]::new));
            String where = "./lora " + String.join(" ", args);
            assertEquals(0, r.code(), where + ": " + r.err());
            assertEquals("", r.err(), where);
            List<String> shown = helpExamples(r.out());
            if (sub.getParent().getCommand() instanceof Main) {
                assertFalse(shown.isEmpty(), where + " shows no example:\n" + r.out());
            }
            for (String example : shown) assertParses(example, where);
            examples += shown.size();
            assertFalse(r.out().contains("--adapter"), where + " shows the hidden alias --adapter:\n" + r.out());
            assertFalse(Pattern.compile("--out\\b(?!put)").matcher(r.out()).find(), where + " shows --out:\n" + r.out());
        }
        assertTrue(examples >= 20, "found only " + examples + " examples in the help texts");
    }

    @Test
    void readmeAndDocsExamplesParse() throws IOException {
        List<Path> files = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        int examples = 0;
        for (Path file : files) {
            for (String example : markdownExamples(Files.readString(file))) {
                assertParses(example, file.toString());
                examples++;
            }
        }
        assertTrue(examples >= 12, "found only " + examples + " ./lora lines in " + files);
    }

    @Test
    void exampleConfigCommentsParse() throws IOException {
        int examples = 0;
        try (Stream<Path> yamls = Files.list(Path.of("examples"))) {
            for (Path file : yamls.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (String line : Files.readAllLines(file)) {
                    String text = line.replaceFirst("^#\\s*", "");
                    if (line.startsWith("#") && text.startsWith(PROMPT)) {
                        assertParses(text, file.toString());
                        examples++;
                    }
                }
            }
        }
        assertTrue(examples >= 5, "found only " + examples + " ./lora lines in examples/*.yaml");
    }

    @Test
    void theExtractorsFindWhatTheyShould() {
        assertEquals(List.of("./lora sample --base b \\\n --prompt 'a b' --num 4", "./lora doctor"), helpExamples(String.join("\n",
                "Examples:", "  ./lora sample --base b \\", "      --prompt 'a b' --num 4", "      (an explanation)", "  ./lora doctor")));
        assertEquals(List.of("./lora info x  # note", "./lora train --dry-run"),
                markdownExamples("```bash\n./lora info x  # note\nls\n```\nrun `./lora train --dry-run` or `./lora merge`."));
        assertEquals(List.of("./lora", "sample", "--prompt", "a \"b\" c", "--x", "it's"),
                shellWords("./lora sample --prompt 'a \"b\" c' --x \"it's\" # comment"));
        assertEquals(List.of("./lora", "train", "--list-keys"), shellWords("./lora train --list-keys > docs/keys.md"));
        assertEquals(List.of("./lora", "sample", "--base", "b", "--num", "4"), shellWords("./lora sample --base b \\\n --num 4"));
    }

    /** Lines of a help text that start with ./lora, joined with the lines that a trailing backslash continues. */
    static List<String> helpExamples(String help) {
        List<String> found = new ArrayList<>();
        List<String> lines = help.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().startsWith(PROMPT)) continue;
            StringBuilder example = new StringBuilder(lines.get(i).strip());
            while (example.toString().endsWith("\\") && i + 1 < lines.size()) example.append("\n ").append(lines.get(++i).strip());
            found.add(example.toString());
        }
        return found;
    }

    /**
     * The ./lora lines of fenced code blocks, and inline code spans that give a subcommand an argument
     * (a bare "./lora merge" names a command in prose; it is no command line).
     */
    static List<String> markdownExamples(String markdown) {
        List<String> found = new ArrayList<>();
        boolean fenced = false;
        for (String line : markdown.lines().toList()) {
            if (line.startsWith("```")) {
                fenced = !fenced;
            } else if (fenced) {
                if (line.startsWith(PROMPT)) found.add(line.strip());
            } else {
                Matcher m = Pattern.compile("`(\\./lora [^`]+)`").matcher(line);
                while (m.find()) if (shellWords(m.group(1)).size() > 2) found.add(m.group(1));
            }
        }
        return found;
    }

    /**
     * Words as a POSIX shell splits them: single and double quotes, backslash escapes and line
     * continuations; a word starting with # begins a comment, and a redirection or pipe ends the command.
     */
    static List<String> shellWords(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote == '\'') {
                if (c == '\'') quote = 0;
                else word.append(c);
            } else if (quote == '"') {
                if (c == '"') quote = 0;
                else if (c == '\\' && i + 1 < line.length() && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) word.append(line.charAt(++i));
                else word.append(c);
            } else if (Character.isWhitespace(c)) {
                if (word != null) words.add(word.toString());
                word = null;
            } else if (c == '\\' && i + 1 < line.length() && line.charAt(i + 1) == '\n') {
                i++;   // line continuation
            } else {
                if (word == null) {
                    if (c == '#' || "<>|;&".indexOf(c) >= 0) break;
                    word = new StringBuilder();
                }
                if (c == '\'' || c == '"') quote = c;
                else if (c == '\\' && i + 1 < line.length()) word.append(line.charAt(++i));
                else word.append(c);
            }
        }
        if (quote != 0) fail("unclosed " + quote + " in: " + line);
        if (word != null) words.add(word.toString());
        return words;
    }

    private static void assertParses(String example, String where) {
        List<String> words = shellWords(example);
        assertEquals("./lora", words.getFirst(), where + ": " + example);
        String[] args = words.subList(1, words.size()).toArray(String[]::new);
        try {
            CommandLine.ParseResult parsed = Main.newCommandLine().parseArgs(args);
            assertTrue(parsed.hasSubcommand(), where + ": no subcommand in " + example);
            for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
                for (CommandLine.Model.OptionSpec o : p.matchedOptions()) {
                    assertFalse(o.hidden(), where + ": " + example + "\n  uses " + o.longestName() + ", an old name kept only for old scripts");
                }
            }
        } catch (CommandLine.ParameterException e) {
            fail(where + ": " + example.replace("\n", " ") + "\n  does not parse: " + e.getMessage());
        }
    }
}
