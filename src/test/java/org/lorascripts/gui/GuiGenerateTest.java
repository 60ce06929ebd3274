package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The Models page's text playground over plain HTTP, with {@code echo} standing in for the CLI so the test
 * sees the exact argument lists the server builds: {@code generate} once on the base model and once more with
 * {@code --lora=ADAPTER}, every value inside one {@code --option=VALUE} word (a prompt that looks like an
 * option stays a prompt), and out-of-range numbers refused before anything runs.
 */
class GuiGenerateTest {
    static final String TOKEN = "t0ken-for-tests";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path tmp;
    static Path root;
    static GuiServer server;
    static int port;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        Files.createDirectories(root.resolve("adapters").resolve("mine"));
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), List.of("echo"), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static GuiSecurityTest.Response post(String body) throws IOException {
        return GuiSecurityTest.send(port, "POST", "/api/models/generate", "127.0.0.1:" + port, body, "X-Lora-Token: " + TOKEN);
    }

    @Test
    void runsGenerateOnTheBaseAndThenWithTheAdapter() throws IOException {
        var r = post("{\"base\":\"builtin:tiny-llama\",\"adapter\":\"adapters/mine\",\"prompt\":\"--help me\","
                + "\"maxNewTokens\":7,\"seed\":3,\"temperature\":0.5}");
        assertEquals(200, r.status(), r.body());
        JsonNode o = JSON.readTree(r.body());
        String dir = root.toRealPath().resolve("adapters").resolve("mine").toString();
        assertEquals("generate --base=builtin:tiny-llama --prompt=--help me --max-new-tokens=7 --seed=3 --temperature=0.5\n",
                o.path("base").path("output").asText());
        assertEquals(0, o.path("base").path("exitCode").asInt(-1));
        assertEquals("generate --base=builtin:tiny-llama --prompt=--help me --max-new-tokens=7 --seed=3 --temperature=0.5 --lora=" + dir + "\n",
                o.path("lora").path("output").asText());
    }

    @Test
    void withoutAnAdapterOnlyTheBaseRuns() throws IOException {
        var r = post("{\"base\":\"builtin:tiny-llama\",\"prompt\":\"Hello\"}");
        assertEquals(200, r.status(), r.body());
        JsonNode o = JSON.readTree(r.body());
        assertEquals("generate --base=builtin:tiny-llama --prompt=Hello --max-new-tokens=64 --seed=0 --temperature=0.0\n",
                o.path("base").path("output").asText());
        assertFalse(o.has("lora"));
    }

    @Test
    void badValuesAreRefusedWithTheirName() throws IOException {
        var tokens = post("{\"base\":\"builtin:tiny-llama\",\"prompt\":\"x\",\"maxNewTokens\":0}");
        assertEquals(400, tokens.status());
        assertEquals("error: max new tokens must be in 1..2048, got 0", tokens.body());
        assertEquals(400, post("{\"base\":\"builtin:tiny-llama\",\"prompt\":\"  \"}").status());
        assertEquals(400, post("{\"base\":\"builtin:tiny-llama\",\"prompt\":\"x\",\"temperature\":-1}").status());
        assertEquals(400, post("{\"base\":\"\",\"prompt\":\"x\"}").status());
    }
}
