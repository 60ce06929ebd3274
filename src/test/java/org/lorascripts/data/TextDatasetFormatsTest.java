package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.lorascripts.data.TextDataFiles.cat;
import static org.lorascripts.data.TextDataFiles.ignored;
import static org.lorascripts.data.TextDataFiles.one;
import static org.lorascripts.data.TextDataFiles.write;

import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.config.DataFormat;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/**
 * Each data format against ids built independently: pieces encoded on their own and
 * concatenated with BOS/EOS ids read from tokenizer.json.
 */
class TextDatasetFormatsTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;
    static long bos, eos;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException {
        tok = TinyTokenizerFixture.load(tokDir, Map.of());
        bos = TinyTokenizerFixture.addedTokenId(tokDir, "<s>");
        eos = TinyTokenizerFixture.addedTokenId(tokDir, "</s>");
    }

    @AfterAll
    static void close() { tok.close(); }

    private TextDataset load(Path source, TextDataOptions o) {
        return TextDataset.load(source, o, tok).train();
    }

    private void assertExample(TextDataset ds, int i, long[] ids, long[] labels) {
        assertArrayEquals(ids, ds.example(i).inputIds(), "input ids of example " + i);
        assertArrayEquals(labels, ds.example(i).labels(), "labels of example " + i);
    }

    @Test
    void plainTextLinesAreAllTargetsWithOneBosAndEos() throws IOException {
        Path f = write(data, "a.txt", "Hello world", "", "   ", "The quick fox");
        TextDataset ds = load(f, TextDataOptions.of(512));
        assertEquals(2, ds.size(), "blank lines are skipped");
        for (int i = 0; i < 2; i++) {
            long[] text = tok.encode(i == 0 ? "Hello world" : "The quick fox");
            assertExample(ds, i, cat(one(bos), text, one(eos)), cat(ignored(1), text, one(eos)));
        }
    }

    @Test
    void folderOfTextFilesInNameOrderAndAutoFormatPerFile() throws IOException {
        write(data, "b/second.txt", "from b");
        write(data, "a.jsonl", "{\"prompt\": \"Q: 2+2?\\nA:\", \"completion\": \" 4\"}");
        write(data, ".hidden/skip.txt", "never read");
        write(data, "notes.md", "not data");
        TextDataset ds = load(data, TextDataOptions.of(512));
        assertEquals(2, ds.size());
        long[] p = tok.encode("Q: 2+2?\nA:"), c = tok.encode(" 4"), b = tok.encode("from b");
        assertExample(ds, 0, cat(one(bos), p, c, one(eos)), cat(ignored(1 + p.length), c, one(eos)));
        assertExample(ds, 1, cat(one(bos), b, one(eos)), cat(ignored(1), b, one(eos)));
    }

    @Test
    void jsonlTextIgnoresExtraKeys() throws IOException {
        Path f = write(data, "t.jsonl", "{\"text\": \"Hi there\", \"id\": 7}", "", "{\"text\": \"Line\\nbreak\"}");
        TextDataset ds = load(f, TextDataOptions.of(512));
        long[] a = tok.encode("Hi there"), b = tok.encode("Line\nbreak");
        assertExample(ds, 0, cat(one(bos), a, one(eos)), cat(ignored(1), a, one(eos)));
        assertExample(ds, 1, cat(one(bos), b, one(eos)), cat(ignored(1), b, one(eos)));
    }

    @Test
    void textFormatReadsJsonlNamedFileAsLines() throws IOException {
        Path f = write(data, "t.jsonl", "{\"text\": \"x\"}");
        TextDataset ds = load(f, TextDataOptions.of(512).withFormat(DataFormat.TEXT));
        long[] raw = tok.encode("{\"text\": \"x\"}");
        assertExample(ds, 0, cat(one(bos), raw, one(eos)), cat(ignored(1), raw, one(eos)));
    }

    @Test
    void alpacaTrainsOnOutputOnly() throws IOException {
        Path f = write(data, "alpaca.jsonl",
                "{\"instruction\": \"Name a color.\", \"input\": \"\", \"output\": \"Blue.\"}",
                "{\"instruction\": \"Translate to English.\", \"input\": \"bonjour\", \"output\": \"hello\"}");
        TextDataset ds = load(f, TextDataOptions.of(512));
        // Stanford Alpaca's prompts, written out here by hand.
        String noInput = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\nName a color.\n\n### Response:\n";
        String withInput = "Below is an instruction that describes a task, paired with an input that provides further context."
                + " Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\nTranslate to English.\n\n### Input:\nbonjour\n\n### Response:\n";
        long[] p0 = tok.encode(noInput), o0 = tok.encode("Blue."), p1 = tok.encode(withInput), o1 = tok.encode("hello");
        assertExample(ds, 0, cat(one(bos), p0, o0, one(eos)), cat(ignored(1 + p0.length), o0, one(eos)));
        assertExample(ds, 1, cat(one(bos), p1, o1, one(eos)), cat(ignored(1 + p1.length), o1, one(eos)));
    }

    /** alpaca's data.json (a JSON array) trains exactly as the same examples in .jsonl; the dry run counts them. */
    @Test
    void alpacaJsonArrayIsReadAsTheJsonlForm() throws IOException {
        Path jsonl = write(data, "a.jsonl",
                "{\"instruction\": \"Name a color.\", \"input\": \"\", \"output\": \"Blue.\"}",
                "{\"instruction\": \"Translate to English.\", \"input\": \"bonjour\", \"output\": \"hello\"}");
        Path json = write(data, "data.json", "[",
                "  {\"instruction\": \"Name a color.\", \"input\": \"\", \"output\": \"Blue.\"},",
                "  {\"instruction\": \"Translate to English.\", \"input\": \"bonjour\", \"output\": \"hello\"}", "]");
        TextDataset a = load(jsonl, TextDataOptions.of(512)), b = load(json, TextDataOptions.of(512));
        assertEquals(2, b.size());
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(a.example(i).inputIds(), b.example(i).inputIds());
            assertArrayEquals(a.example(i).labels(), b.example(i).labels());
        }
        assertEquals(2, DatasetScan.text(json, "auto").examples());
    }

    /** ShareGPT's conversations (from human / gpt / system, value) train as the same turns in OpenAI messages form. */
    @Test
    void shareGptConversationsAreChats() throws IOException {
        Path messages = write(data, "m.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"Be nice.\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}");
        Path shareGpt = write(data, "sharegpt.json", "[{\"id\": \"x1\", \"conversations\": [{\"from\": \"system\", \"value\": \"Be nice.\"},"
                + " {\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Hello!\"}]}]");
        TextDataset a = load(messages, TextDataOptions.of(512)), b = load(shareGpt, TextDataOptions.of(512));
        assertArrayEquals(a.example(0).inputIds(), b.example(0).inputIds());
        assertArrayEquals(a.example(0).labels(), b.example(0).labels());
        Path bad = write(data, "bad.json", "[{\"conversations\": [{\"from\": \"bot\", \"value\": \"Hi\"}]}]");
        DatasetException e = assertThrows(DatasetException.class, () -> load(bad, TextDataOptions.of(512)));
        assertEquals(bad + "[0]: conversations[0]: 'from' is 'bot'; ShareGPT turns are from human, gpt or system", e.getMessage());
        Path notArray = write(data, "obj.json", "{\"instruction\": \"x\", \"output\": \"y\"}");
        e = assertThrows(DatasetException.class, () -> load(notArray, TextDataOptions.of(512)));
        assertEquals(notArray + ": expected a JSON array of examples [{...}, ...], found object", e.getMessage());
    }

    @Test
    void chatmlChatTrainsOnAnswersAndDropsTrailingUserTurn() throws IOException {
        Path f = write(data, "chat.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"Be nice.\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"},"
                + " {\"role\": \"user\", \"content\": \"Bye\"}]}");
        TextDataSplit split = TextDataset.load(f, TextDataOptions.of(512).withChatTemplate(ChatTemplate.CHATML), tok);
        assertEquals(ChatFormat.CHATML, split.chatFormat(), "the built-in ChatML rendering");
        long[] ctx = tok.encode("<|im_start|>system\nBe nice.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        long[] answer = tok.encode("Hello!<|im_end|>");
        long[] nl = tok.encode("\n");
        assertExample(split.train(), 0, cat(one(bos), ctx, answer, nl, one(eos)),
                cat(ignored(1 + ctx.length), answer, ignored(nl), one(eos)));
    }

    @Test
    void mistralChatHasOneBosAndEndsWithItsOwnEos() throws IOException {
        Path f = write(data, "chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                + " {\"role\": \"assistant\", \"content\": \"Hello\"}]}");
        TextDataset ds = load(f, TextDataOptions.of(512).withChatTemplate(ChatTemplate.MISTRAL));
        long[] ctx = tok.encode("[INST] Hi [/INST]");
        long[] answer = tok.encode(" Hello</s>");
        assertEquals(eos, answer[answer.length - 1]);
        assertExample(ds, 0, cat(one(bos), ctx, answer), cat(ignored(1 + ctx.length), answer));
        assertEquals(1, LongStream.of(ds.example(0).inputIds()).filter(id -> id == bos).count(), "one BOS");
    }

    @Test
    void llama3ChatWithLlama3StyleTokenizerHasOneBos(@TempDir Path llamaTok) throws IOException {
        try (HfTokenizer t = TinyTokenizerFixture.load(llamaTok, Map.of("bos_token", "<|begin_of_text|>",
                "eos_token", "<|eot_id|>"))) {
            long bot = TinyTokenizerFixture.addedTokenId(llamaTok, "<|begin_of_text|>");
            Path f = write(data, "chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                    + " {\"role\": \"assistant\", \"content\": \"Hello\"}]}");
            TextDataset ds = TextDataset.load(f, TextDataOptions.of(512).withChatTemplate(ChatTemplate.LLAMA3), t).train();
            long[] ctx = t.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            long[] answer = t.encode("Hello<|eot_id|>");
            assertExample(ds, 0, cat(one(bot), ctx, answer), cat(ignored(1 + ctx.length), answer));
        }
    }

    @Test
    void tokenizerWithoutBosStartsWithText(@TempDir Path qwenTok) throws IOException {
        try (HfTokenizer t = TinyTokenizerFixture.load(qwenTok, Map.of("bos_token", NullNode.instance))) {
            Path f = write(data, "a.txt", "Hello world");
            TextDataset ds = TextDataset.load(f, TextDataOptions.of(512), t).train();
            long[] text = t.encode("Hello world");
            long[] labels = cat(text, one(eos));
            labels[0] = TextDataFiles.IGNORE; // nothing predicts the first token
            assertExample(ds, 0, cat(text, one(eos)), labels);
        }
    }

    @Test
    void textThatAlreadyEndsWithEosGetsNoSecond() throws IOException {
        Path f = write(data, "a.txt", "done</s>");
        TextDataset ds = load(f, TextDataOptions.of(512));
        long[] text = tok.encode("done</s>");
        assertExample(ds, 0, cat(one(bos), text), cat(ignored(1), text));
    }
}
