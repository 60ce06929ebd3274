package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.write;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/** One-line messages naming the file and line and what is wrong. */
class TextDatasetErrorsTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException { tok = TinyTokenizerFixture.load(tokDir, Map.of()); }

    @AfterAll
    static void close() { tok.close(); }

    private String error(Path source) { return error(source, TextDataOptions.of(512)); }

    private String error(Path source, TextDataOptions o) {
        return assertThrows(DatasetException.class, () -> TextDataset.load(source, o, tok)).getMessage();
    }

    @Test
    void malformedJsonNamesFileAndLine() throws IOException {
        Path f = write(data, "data.jsonl", "{\"text\": \"a\"}", "", "{\"text\": \"b\",}");
        String m = error(f);
        assertTrue(m.startsWith(f + ":3: not valid JSON (") && m.endsWith(")"), m);
        assertTrue(m.contains("at byte 13"), "the parser's position within the line: " + m);
    }

    @Test
    void missingKeyListsTheKeysFound() throws IOException {
        Path f = write(data, "data.jsonl", "{\"text\": \"a\"}", "{\"title\": \"t\", \"body\": \"b\"}");
        assertEquals(f + ":2: missing 'text' (found keys: title, body)", error(f));
    }

    @Test
    void unknownFormatSuggestsTheKeyMeant() throws IOException {
        Path f = write(data, "data.jsonl", "{\"prompt\": \"p\", \"completions\": \"c\"}");
        String m = error(f);
        assertTrue(m.startsWith(f + ":1: cannot tell the example format from keys (prompt, completions)"), m);
        assertTrue(m.endsWith("'completions': did you mean 'completion'?"), m);
    }

    @Test
    void wrongTypesAndShapes() throws IOException {
        Path f = write(data, "n.jsonl", "{\"text\": 5}");
        assertEquals(f + ":1: 'text' must be a string, found integer", error(f));
        Path g = write(data, "arr.jsonl", "[1, 2]");
        assertEquals(g + ":1: expected a JSON object {...} per line, found array (a JSON array of examples goes in a .json file)", error(g));
        Path h = write(data, "m.jsonl", "{\"messages\": [{\"role\": \"user\"}]}");
        assertEquals(h + ":1: messages[0] missing 'content' (found keys: role)", error(h));
    }

    @Test
    void emptyFileSaysSo() throws IOException {
        Path f = data.resolve("empty.txt");
        Files.writeString(f, "");
        assertEquals(f + " is empty: no training examples", error(f));
        Path blank = data.resolve("blank.jsonl");
        Files.writeString(blank, "\n  \n\n");
        assertEquals(blank + " is empty: no training examples", error(blank));
    }

    @Test
    void folderWithoutDataFilesAndMissingPath() throws IOException {
        write(data, "readme.md", "hi");
        assertEquals("train_data_dir " + data + " has no .txt, .jsonl or .json files", error(data));
        Path missing = data.resolve("nope");
        assertTrue(error(missing).startsWith("train_data_dir " + missing + " does not exist"));
    }

    @Test
    void chatWithoutAnswerOrWithBadTurnOrder() throws IOException {
        Path f = write(data, "c.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertEquals(f + ":1: no message with role 'assistant': nothing to train on", error(f));
        Path g = write(data, "d.jsonl", "{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}]}");
        String m = error(g, TextDataOptions.of(512).withChatTemplate(ChatTemplate.MISTRAL));
        assertTrue(m.startsWith(g + ":1: chat_template mistral needs user and assistant turns alternating"), m);
    }

    @Test
    void notUtf8() throws IOException {
        Path f = data.resolve("latin1.txt");
        Files.write(f, new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n'});
        assertEquals(f + ": not UTF-8 text; save it as UTF-8", error(f));
    }
}
