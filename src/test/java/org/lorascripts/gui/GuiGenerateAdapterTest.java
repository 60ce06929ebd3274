package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.Main;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Models page's text playground with a real adapter: a PEFT adapter trained here (the text quickstart cut
 * to 40 steps, by the CLI in a child process), then {@code POST /api/models/generate} on builtin:tiny-llama
 * with and without it, sampling at temperature 0.8 with a fixed seed. The adapter's completion differs from
 * the base model's, and each equals what {@code ./lora generate} prints for the same prompt, seed and options
 * (the CLI's Main run in this JVM); a folder that is not an adapter fails with the CLI's one-line error.
 */
class GuiGenerateAdapterTest {
    static final String TOKEN = "t0ken-for-tests";
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "To brew green tea,";
    @TempDir static Path tmp;
    static Path root;
    static Path adapter;
    static GuiServer server;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        root = Files.createDirectories(tmp.resolve("root"));
        Path run = root.resolve("run");
        List<String> cmd = new ArrayList<>(Runs.thisCli());
        cmd.addAll(List.of("train", "--config", Path.of("examples/quickstart-text.yaml").toAbsolutePath().toString(),
                "--set", "max_steps=40", "--set", "output_dir=" + run, "--set", "device=cpu", "--set", "sample_every_n_steps=1000",
                "--set", "val_ratio=0"));
        Path log = tmp.resolve("train.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "training ends");
        assertEquals(0, p.exitValue(), Files.readString(log));
        adapter = run.resolve("quickstart_text");
        assertTrue(Files.isRegularFile(adapter.resolve("adapter_model.safetensors")), Files.readString(log));
        Files.createDirectories(root.resolve("not-an-adapter"));
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), Runs.thisCli(), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static JsonNode generate(String adapterPath) throws IOException {
        String body = JSON.createObjectNode().put("base", "builtin:tiny-llama").put("adapter", adapterPath).put("prompt", PROMPT)
                .put("maxNewTokens", 24).put("seed", 7).put("temperature", 0.8).toString();
        var r = GuiSecurityTest.send(port, "POST", "/api/models/generate", "127.0.0.1:" + port, body, "X-Lora-Token: " + TOKEN);
        assertEquals(200, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    /** What {@code ./lora generate ARGS} prints (stdout), run in this JVM; its stderr must be empty. */
    static String cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine c = Main.newCommandLine();
        c.setOut(new PrintWriter(out, true));
        c.setErr(new PrintWriter(err, true));
        int code = c.execute(args);
        assertEquals(0, code, err.toString());
        assertEquals("", err.toString());
        return out.toString();
    }

    @Test
    void theAdaptersCompletionDiffersFromTheBaseAndEqualsTheCli() throws IOException {
        JsonNode r = generate("run/quickstart_text");
        assertEquals(0, r.path("base").path("exitCode").asInt(-1), r.toString());
        assertEquals(0, r.path("lora").path("exitCode").asInt(-1), r.toString());
        String base = r.path("base").path("output").asText(), lora = r.path("lora").path("output").asText();
        assertNotEquals(base, lora, "the adapter changes the completion");
        assertTrue(lora.strip().length() > 10, lora);

        String[] common = {"generate", "--base", "builtin:tiny-llama", "--prompt", PROMPT, "--max-new-tokens", "24", "--seed", "7",
                "--temperature", "0.8"};
        assertEquals(cli(common), base);
        List<String> withLora = new ArrayList<>(List.of(common));
        withLora.addAll(List.of("--lora", adapter.toString()));
        assertEquals(cli(withLora.toArray(String[]::new)), lora);
    }

    @Test
    void aFolderThatIsNotAnAdapterFailsWithTheClisError() throws IOException {
        JsonNode r = generate("not-an-adapter");
        assertEquals(0, r.path("base").path("exitCode").asInt(-1), r.toString());
        assertEquals(2, r.path("lora").path("exitCode").asInt(), r.toString());
        String out = r.path("lora").path("output").asText();
        assertTrue(out.startsWith("error: ") && out.contains("not-an-adapter") && !out.contains("Exception"), out);
    }
}
