package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.data.TextDataset;
import org.lorascripts.data.TokenizedExample;
import org.lorascripts.tasks.llm.LlmLoraTask;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Dataset page's preview of text data over HTTP: for chat (messages and ShareGPT), alpaca and plain-text
 * files on builtin:tiny-llama, every previewed example has exactly the token ids and trained positions of the
 * example the trainer itself builds ({@link LlmLoraTask#trainData()}, loaded from the same keys), with and
 * without train_on_inputs and with an example cut at max_seq_len.
 */
class GuiTextPreviewTest {
    static final String TOKEN = "t0ken-for-tests";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path tmp;
    static Path root;
    static GuiServer server;
    static int port;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        Path data = Files.createDirectories(root.resolve("data"));
        Files.writeString(data.resolve("chat.jsonl"), """
                {"messages": [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "How long does green tea steep?"}, {"role": "assistant", "content": "Two to three minutes."}]}
                {"messages": [{"role": "user", "content": "Hot or boiling water?"}, {"role": "assistant", "content": "Hot, not boiling."}, {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Boiling water makes it bitter."}]}
                """);
        Files.writeString(data.resolve("sharegpt.json"), """
                [{"conversations": [{"from": "human", "value": "Name a black tea."}, {"from": "gpt", "value": "Assam."}]}]
                """);
        Files.writeString(data.resolve("alpaca.json"), """
                [{"instruction": "Say how to warm a teapot.", "input": "", "output": "Rinse it with hot water first."},
                 {"instruction": "Translate to French.", "input": "green tea", "output": "the vert"}]
                """);
        Files.writeString(data.resolve("plain.txt"), "The town market opens at nine.\nA cat sleeps in the sun all afternoon long, then wakes up for dinner and walks to the river with the dog before the rain comes.\n");
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), List.of("echo"), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static GuiSecurityTest.Response preview(Map<String, String> form, int count) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.set("form", JSON.valueToTree(form));
        body.put("count", count);
        return GuiSecurityTest.send(port, "POST", "/api/dataset/text-preview", "127.0.0.1:" + port, JSON.writeValueAsString(body),
                "X-Lora-Token: " + TOKEN);
    }

    static Map<String, String> form(String data, String template, boolean trainOnInputs, int maxSeqLen) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("base_model", "builtin:tiny-llama");
        f.put("train_data_dir", data);
        f.put("chat_template", template);
        f.put("train_on_inputs", String.valueOf(trainOnInputs));
        f.put("max_seq_len", String.valueOf(maxSeqLen));
        f.put("device", "cpu");
        f.put("output_dir", root.resolve("out").toString());
        return f;
    }

    /** Previews the data and checks every example against the trainer's own dataset for the same keys. */
    static JsonNode previewEqualsTrainer(Map<String, String> form, int count) throws IOException {
        var r = preview(form, count);
        assertEquals(200, r.status(), r.body());
        JsonNode p = JSON.readTree(r.body());
        Map<String, String> keys = new LinkedHashMap<>(form);
        keys.put("task_type", "text-generation");
        keys.put("train_data_dir", root.toRealPath().resolve(form.get("train_data_dir")).toString());
        var config = ConfigLoader.loadText(FormYaml.toYaml(keys), "preview.yaml", root, List.of()).config();
        try (LlmLoraTask task = new LlmLoraTask(config)) {
            TextDataset train = task.trainData();
            assertEquals(train.size(), p.path("total").asInt());
            assertEquals(Math.min(count, train.size()), p.path("examples").size());
            for (int i = 0; i < p.path("examples").size(); i++) {
                JsonNode e = p.path("examples").get(i);
                TokenizedExample want = train.example(i);
                List<Long> ids = new ArrayList<>();
                List<Boolean> targets = new ArrayList<>();
                int cut = 0;
                for (JsonNode s : e.path("spans")) {
                    for (JsonNode id : s.path("ids")) {
                        if (s.path("cut").asBoolean()) { cut++; continue; }
                        ids.add(id.asLong());
                        targets.add(s.path("target").asBoolean());
                    }
                }
                String at = e.path("origin").asText();
                assertArrayEquals(want.inputIds(), ids.stream().mapToLong(Long::longValue).toArray(), at);
                for (int t = 0; t < want.length(); t++) {
                    assertEquals(want.labels()[t] != TokenizedExample.IGNORE, targets.get(t), at + " token " + t);
                }
                assertEquals(want.targetCount(), e.path("trained").asInt(), at);
                assertEquals(want.length() + cut, e.path("tokens").asInt(), at);
                assertEquals(cut > 0, e.path("truncated").asBoolean(), at);
            }
        }
        return p;
    }

    static String text(JsonNode example, boolean target) {
        StringBuilder b = new StringBuilder();
        for (JsonNode s : example.path("spans")) if (s.path("target").asBoolean() == target && !s.path("cut").asBoolean()) b.append(s.path("text").asText());
        return b.toString();
    }

    @Test
    void chatExamplesTrainOnTheAssistantTurnsOnly() throws IOException {
        JsonNode p = previewEqualsTrainer(form("data/chat.jsonl", "chatml", false, 256), 5);
        assertEquals("chatml", p.path("template").asText());
        JsonNode second = p.path("examples").get(1);
        assertEquals("chat", second.path("kind").asText());
        String trained = text(second, true), context = text(second, false);
        assertTrue(trained.contains("Hot, not boiling.") && trained.contains("Boiling water makes it bitter."), trained);
        assertFalse(trained.contains("Hot or boiling water?") || trained.contains("Why?"), trained);
        assertTrue(context.contains("<|im_start|>user\nHot or boiling water?<|im_end|>"), context);
        // the whole rendering, spans in order, is the chatml text of the conversation
        StringBuilder all = new StringBuilder();
        second.path("spans").forEach(s -> all.append(s.path("text").asText()));
        assertTrue(all.toString().contains("<|im_start|>assistant\nHot, not boiling.<|im_end|>\n<|im_start|>user\nWhy?"), all.toString());
    }

    @Test
    void trainOnInputsTrainsEveryTokenButTheFirst() throws IOException {
        JsonNode p = previewEqualsTrainer(form("data/chat.jsonl", "chatml", true, 256), 2);
        JsonNode first = p.path("examples").get(0);
        assertEquals(first.path("tokens").asInt() - 1, first.path("trained").asInt());
        assertTrue(p.path("trainOnInputs").asBoolean());
    }

    @Test
    void sharegptAlpacaAndPlainTextAsTheTrainerReadsThem() throws IOException {
        JsonNode share = previewEqualsTrainer(form("data/sharegpt.json", "llama3", false, 256), 5);
        assertTrue(text(share.path("examples").get(0), true).contains("Assam."), share.toString());
        JsonNode alpaca = previewEqualsTrainer(form("data/alpaca.json", "auto", false, 256), 5);
        JsonNode a = alpaca.path("examples").get(1);
        assertEquals("alpaca", a.path("kind").asText());
        assertTrue(text(a, false).contains("### Input:\ngreen tea"), text(a, false));
        assertTrue(text(a, true).contains("the vert"), text(a, true));
        // plain text: every token a target but the first; the longer line cut at max_seq_len
        JsonNode plain = previewEqualsTrainer(form("data/plain.txt", "auto", false, 16), 5);
        JsonNode cut = plain.path("examples").get(1);
        assertTrue(cut.path("truncated").asBoolean(), cut.toString());
        assertEquals(15, cut.path("trained").asInt());
        assertTrue(cut.path("tokens").asInt() > 16, cut.toString());
        assertEquals("text", cut.path("kind").asText());
    }

    /**
     * A local HF folder (the built-in model's files copied) with its own chat_template.jinja: chat_template auto
     * takes it, and the trainer tokenises the rendered conversation whole, a token trained on when its
     * characters overlap an assistant turn.
     */
    @Test
    void aLocalModelFolderWithItsOwnJinjaTemplate() throws IOException {
        Path model = Files.createDirectories(root.resolve("models/tiny"));
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(org.lorascripts.models.llm.TinyLlamaBuiltin.ensureCached().resolve(f), model.resolve(f));
        }
        Files.writeString(model.resolve("chat_template.jinja"), "{% for m in messages %}{{ '### ' + m['role'] + ': ' + m['content'] + '\n' }}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '### assistant: ' }}{% endif %}");
        Map<String, String> f = form("data/chat.jsonl", "auto", false, 256);
        f.put("base_model", "models/tiny");
        JsonNode p = previewEqualsTrainer(f, 2);
        assertTrue(p.path("template").asText().contains("chat_template.jinja"), p.path("template").asText());
        JsonNode second = p.path("examples").get(1);
        String trained = text(second, true);
        assertTrue(trained.contains("Hot, not boiling.") && trained.contains("bitter."), trained);
        assertFalse(trained.contains("Hot or boiling water?"), trained);
        assertTrue(text(second, false).contains("### user: Why?"), text(second, false));
    }

    @Test
    void badInputIsOneLine() throws IOException {
        var missing = preview(form("data/none.jsonl", "auto", false, 64), 3);
        assertEquals(400, missing.status());
        assertTrue(missing.body().startsWith("error: ") && missing.body().contains("none.jsonl"), missing.body());
        var outside = preview(form("/etc/passwd", "auto", false, 64), 3);
        assertEquals(403, outside.status(), outside.body());
        // paths outside the roots are refused wherever they come from: train_data, base_model
        Path away = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(away.resolve("chat.jsonl"), Files.readString(root.resolve("data/chat.jsonl")));
        Files.writeString(away.resolve("config.json"), "{}");
        Map<String, String> list = form("data/chat.jsonl", "auto", false, 64);
        list.remove("train_data_dir");
        list.put("train_data", away.resolve("chat.jsonl").toString());
        var fromList = preview(list, 3);
        assertEquals(403, fromList.status(), fromList.body());
        Map<String, String> model = form("data/chat.jsonl", "auto", false, 64);
        model.put("base_model", away.toString());
        assertEquals(403, preview(model, 3).status());
        var noToken = GuiSecurityTest.send(port, "POST", "/api/dataset/text-preview", "127.0.0.1:" + port,
                "{\"form\":{},\"count\":1}");
        assertEquals(403, noToken.status());
        var count = preview(form("data/chat.jsonl", "auto", false, 64), 0);
        assertEquals(400, count.status());
        assertEquals("error: show 1..50 examples, not 0", count.body());
    }
}
