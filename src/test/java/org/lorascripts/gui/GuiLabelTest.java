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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Dataset page's labeler over plain HTTP, with {@code echo} standing in for the CLI so the test sees the
 * argument list the server builds for {@code ./lora label} (.txt captions, each value in one
 * {@code --option=VALUE} word), the job polled until it ends, and bad options refused before anything runs.
 */
class GuiLabelTest {
    static final String TOKEN = "t0ken-for-tests";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path tmp;
    static Path root;
    static GuiServer server;
    static int port;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        Files.createDirectories(root.resolve("data"));
        Files.createDirectories(root.resolve("tagger"));
        Files.createDirectories(root.resolve("csv"));
        Files.writeString(root.resolve("csv").resolve("metadata.csv"), "file_name,text\n");
        Files.createDirectories(root.resolve("jsonl"));
        Files.writeString(root.resolve("jsonl").resolve("metadata.jsonl"), "");
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), List.of("echo"), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static GuiSecurityTest.Response post(String body) throws IOException {
        return GuiSecurityTest.send(port, "POST", "/api/dataset/label", "127.0.0.1:" + port, body, "X-Lora-Token: " + TOKEN);
    }

    static JsonNode waitFor(String id) throws Exception {
        for (int i = 0; i < 100; i++) {
            var r = GuiSecurityTest.send(port, "GET", "/api/dataset/label/" + id, "127.0.0.1:" + port, null);
            assertEquals(200, r.status(), r.body());
            JsonNode o = JSON.readTree(r.body());
            if (!"running".equals(o.path("state").asText())) return o;
            Thread.sleep(100);
        }
        throw new AssertionError("the labeling did not end");
    }

    @Test
    void runsTheLabelerWithTheChosenOptionsAndReportsItsConsole() throws Exception {
        var r = post("{\"path\":\"data\",\"backend\":\"wd14\",\"model\":\"tagger\",\"threshold\":0.5,\"trigger\":\"--mystyle\",\"overwrite\":true}");
        assertEquals(200, r.status(), r.body());
        JsonNode done = waitFor(JSON.readTree(r.body()).path("id").asText());
        Path real = root.toRealPath();
        assertEquals("finished", done.path("state").asText());
        assertEquals("label --input=" + real.resolve("data") + " --format=txt --backend=wd14 --threshold=0.5 --trigger=--mystyle --model="
                + real.resolve("tagger") + " --overwrite" + progressArg(done), done.path("log").asText());

        var none = post("{\"path\":\"data\",\"model\":\"none\",\"trigger\":\"star\"}");
        assertEquals(200, none.status(), none.body());
        JsonNode noneDone = waitFor(JSON.readTree(none.body()).path("id").asText());
        assertEquals("label --input=" + real.resolve("data") + " --format=txt --backend=wd14 --threshold=0.35 --trigger=star --model=none" + progressArg(noneDone),
                noneDone.path("log").asText());

        // a folder with a metadata.csv is labeled into it
        var csv = post("{\"path\":\"csv\",\"model\":\"none\",\"trigger\":\"star\"}");
        assertEquals(200, csv.status(), csv.body());
        JsonNode csvDone = waitFor(JSON.readTree(csv.body()).path("id").asText());
        assertEquals("label --input=" + real.resolve("csv") + " --format=csv --backend=wd14 --threshold=0.35 --trigger=star --model=none"
                + progressArg(csvDone), csvDone.path("log").asText());
    }

    /** The last argument: the job's progress file, in the app's folder of that labeling. */
    static String progressArg(JsonNode job) throws IOException {
        return " --progress-file=" + root.resolve(".lora-gui/label/" + job.path("id").asText() + "/progress.jsonl") + "\n";
    }

    @Test
    void badOptionsAreRefused() throws IOException {
        assertEquals(400, post("{\"path\":\"data\",\"backend\":\"clip\"}").status());
        var threshold = post("{\"path\":\"data\",\"threshold\":1.5}");
        assertEquals(400, threshold.status());
        assertEquals("error: the threshold must be a number in [0, 1]", threshold.body());
        assertEquals(400, post("{\"path\":\"data/missing\"}").status());
        assertEquals(400, post("{\"path\":\"data\",\"trigger\":\"a\\nb\"}").status());
        var jsonl = post("{\"path\":\"jsonl\",\"model\":\"none\",\"trigger\":\"x\"}");
        assertEquals(400, jsonl.status());
        assertTrue(jsonl.body().contains("metadata.jsonl"), jsonl.body());
        assertEquals(400, GuiSecurityTest.send(port, "GET", "/api/dataset/label/nope", "127.0.0.1:" + port, null).status());
    }
}
