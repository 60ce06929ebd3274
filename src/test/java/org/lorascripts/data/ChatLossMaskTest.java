package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.cat;
import static org.lorascripts.data.TextDataFiles.ignored;
import static org.lorascripts.data.TextDataFiles.one;
import static org.lorascripts.data.TextDataFiles.write;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.JinjaChatTemplate;
import org.lorascripts.text.TinyTokenizerFixture;

/**
 * Loss masking with the model's own Jinja template, token by token, for a two-turn conversation:
 * every assistant turn (answer, end-of-turn marker and what the template writes after it up to
 * the next turn) carries labels, everything else is ignored; train_on_inputs labels all.
 * Expected ids are the pieces encoded on their own (each piece starts after a special token or
 * a newline, so the whole text tokenises the same way).
 */
class ChatLossMaskTest {
    private static final String TWO_TURNS = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
            + " {\"role\": \"assistant\", \"content\": \"Hello!\"}, {\"role\": \"user\", \"content\": \"Bye\"},"
            + " {\"role\": \"assistant\", \"content\": \"See you.\"}]}";

    @TempDir Path data;

    @Test
    void chatmlModelTemplateTrainsOnEveryAssistantTurn(@TempDir Path tokDir) throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(tokDir, Map.of())) {
            long bos = TinyTokenizerFixture.addedTokenId(tokDir, "<s>");
            long eos = TinyTokenizerFixture.addedTokenId(tokDir, "</s>");
            Path f = write(data, "chat.jsonl", TWO_TURNS);
            TextDataSplit split = TextDataset.load(f, TextDataOptions.of(512), tok);
            assertInstanceOf(JinjaChatTemplate.class, split.chatFormat(), "auto: the tokenizer's own ChatML template");
            long[] ctx1 = tok.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
            long[] ans1 = tok.encode("Hello!<|im_end|>\n");
            long[] ctx2 = tok.encode("<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
            long[] ans2 = tok.encode("See you.<|im_end|>\n");
            TokenizedExample e = split.train().example(0);
            assertArrayEquals(cat(one(bos), ctx1, ans1, ctx2, ans2, one(eos)), e.inputIds());
            assertArrayEquals(cat(ignored(1 + ctx1.length), ans1, ignored(ctx2), ans2, one(eos)), e.labels());
        }
    }

    @Test
    void llama3TemplateFileMasksLikeTheBuiltIn(@TempDir Path tokDir) throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(tokDir, Map.of("bos_token", "<|begin_of_text|>", "eos_token", "<|eot_id|>"))) {
            long bot = TinyTokenizerFixture.addedTokenId(tokDir, "<|begin_of_text|>");
            Path template = data.resolve("llama3.jinja");
            try (InputStream in = getClass().getResourceAsStream("/chat-templates/llama3.jinja")) {
                Files.write(template, in.readAllBytes());
            }
            Path f = write(data, "chat.jsonl", TWO_TURNS);
            TokenizedExample e = TextDataset.load(f, TextDataOptions.of(512).withChatTemplateFile(template), tok).train().example(0);
            long[] ctx1 = tok.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            long[] ans1 = tok.encode("Hello!<|eot_id|>");
            long[] ctx2 = tok.encode("<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
            long[] ans2 = tok.encode("See you.<|eot_id|>");
            // <|eot_id|> is the tokenizer's EOS: no second EOS after it
            assertArrayEquals(cat(one(bot), ctx1, ans1, ctx2, ans2), e.inputIds());
            assertArrayEquals(cat(ignored(1 + ctx1.length), ans1, ignored(ctx2), ans2), e.labels());

            TokenizedExample builtIn = TextDataset.load(f, TextDataOptions.of(512).withChatTemplate(ChatTemplate.LLAMA3), tok).train().example(0);
            assertArrayEquals(builtIn.inputIds(), e.inputIds(), "same ids as the built-in llama3 rendering");
            assertArrayEquals(builtIn.labels(), e.labels(), "same labels as the built-in llama3 rendering");
        }
    }

    /** Offsets are in code points: non-ASCII and astral characters before an answer must not shift the mask. */
    @Test
    void nonAsciiTextDoesNotShiftTheMask(@TempDir Path tokDir) throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(tokDir, Map.of())) {
            long bos = TinyTokenizerFixture.addedTokenId(tokDir, "<s>");
            long eos = TinyTokenizerFixture.addedTokenId(tokDir, "</s>");
            Path f = write(data, "chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Grüße 日本 \ud83d\ude00!\"},"
                    + " {\"role\": \"assistant\", \"content\": \"Ça va \ud83d\ude00\"}]}");
            TokenizedExample e = TextDataset.load(f, TextDataOptions.of(512), tok).train().example(0);
            long[] ctx = tok.encode("<|im_start|>user\nGrüße 日本 \ud83d\ude00!<|im_end|>\n<|im_start|>assistant\n");
            long[] ans = tok.encode("Ça va \ud83d\ude00<|im_end|>\n");
            assertArrayEquals(cat(one(bos), ctx, ans, one(eos)), e.inputIds());
            assertArrayEquals(cat(ignored(1 + ctx.length), ans, one(eos)), e.labels());
        }
    }

    @Test
    void trainOnInputsLabelsEveryToken(@TempDir Path tokDir) throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(tokDir, Map.of())) {
            Path f = write(data, "chat.jsonl", TWO_TURNS);
            for (ChatTemplate t : new ChatTemplate[] {ChatTemplate.AUTO, ChatTemplate.CHATML}) {
                TokenizedExample e = TextDataset.load(f, TextDataOptions.of(512).withChatTemplate(t).withTrainOnInputs(true), tok)
                        .train().example(0);
                long[] expected = e.inputIds().clone();
                expected[0] = TokenizedExample.IGNORE; // nothing predicts the first token
                assertArrayEquals(expected, e.labels(), t.configName());
            }
            Path alpaca = write(data, "a.jsonl", "{\"instruction\": \"Add\", \"input\": \"1 and 2\", \"output\": \"3\"}");
            TokenizedExample a = TextDataset.load(alpaca, TextDataOptions.of(512).withTrainOnInputs(true), tok).train().example(0);
            assertEquals(a.length() - 1, a.targetCount(), "alpaca prompt trained too");
        }
    }

    @Test
    void brokenTemplateFileIsOneLineNamingIt(@TempDir Path tokDir) throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(tokDir, Map.of())) {
            Path template = write(data, "bad.jinja", "{% for m in messages %}{{ m.content }}");
            Path f = write(data, "chat.jsonl", TWO_TURNS);
            DatasetException e = assertThrows(DatasetException.class,
                    () -> TextDataset.load(f, TextDataOptions.of(512).withChatTemplateFile(template), tok));
            assertTrue(e.getMessage().startsWith(template + ": "), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            Path missing = data.resolve("nope.jinja");
            e = assertThrows(DatasetException.class, () -> TextDataset.load(f, TextDataOptions.of(512).withChatTemplateFile(missing), tok));
            assertEquals("chat_template_file " + missing + " does not exist", e.getMessage());
        }
    }
}
