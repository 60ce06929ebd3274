package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The labeler's progress streamed to the page: the real CLI ({@code label --model none --trigger ...}, no
 * model needed) on seven images, one of them unreadable, and the test reading the server-sent events of
 * {@code /api/dataset/label/ID/events}: progress events (images done of 7, the file being labeled, the
 * unreadable image's warning) and then one "end" event with the finished state and the labeler's summary.
 */
class GuiLabelStreamTest {
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
        List<Path> images;
        try (var files = Files.list(Path.of("examples/quickstart_data"))) {
            images = files.filter(f -> f.toString().endsWith(".png")).sorted().limit(6).toList();
        }
        for (Path f : images) Files.copy(f, data.resolve(f.getFileName()));
        Files.writeString(data.resolve("zz_broken.png"), "not a png");
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), Runs.thisCli(), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    record Event(String name, JsonNode data) {}

    /** The events of one SSE stream until its "end" event. */
    static List<Event> events(String path) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(120)).build();
        HttpResponse<java.util.stream.Stream<String>> res = http.send(req, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, res.statusCode());
        assertTrue(res.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), res.headers().toString());
        List<Event> out = new ArrayList<>();
        String name = null;
        Iterator<String> lines = res.body().iterator();
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.startsWith("event:")) name = line.substring(6).strip();
            if (line.startsWith("data:")) {
                out.add(new Event(name, JSON.readTree(line.substring(5).strip())));
                if ("end".equals(name)) break;
            }
        }
        res.body().close();
        return out;
    }

    @Test
    void progressEventsThenAFinalEvent() throws Exception {
        var r = GuiSecurityTest.send(port, "POST", "/api/dataset/label", "127.0.0.1:" + port,
                "{\"path\":\"data\",\"model\":\"none\",\"trigger\":\"shapes\"}", "X-Lora-Token: " + TOKEN);
        assertEquals(200, r.status(), r.body());
        String id = JSON.readTree(r.body()).path("id").asText();
        List<Event> events = events("/api/dataset/label/" + id + "/events");

        Event end = events.getLast();
        assertEquals("end", end.name());
        assertEquals("finished", end.data().path("state").asText(), end.data().toString());
        assertEquals(7, end.data().path("total").asInt());
        assertEquals(7, end.data().path("done").asInt());
        assertEquals(1, end.data().path("unreadable").asInt());
        assertTrue(end.data().path("log").asText().contains("labeled 6, skipped 0 (already captioned), unreadable 1"), end.data().toString());
        JsonNode errors = end.data().path("errors");
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).asText().startsWith("warning: skipped ") && errors.get(0).asText().contains("zz_broken.png"), errors.toString());

        List<Event> progress = events.subList(0, events.size() - 1);
        assertFalse(progress.isEmpty(), "progress events come before the end");
        int last = -1;
        for (Event e : progress) {
            assertEquals("progress", e.name());
            int done = e.data().path("done").asInt(-1);
            assertTrue(done >= last, "done never goes back: " + events);
            last = done;
            if (e.data().has("total")) assertEquals(7, e.data().path("total").asInt());
            // a file being labeled is one of the folder's images (4 per batch: the first of each batch)
            String file = e.data().path("file").asText("");
            if (!file.isEmpty()) assertTrue(Files.exists(root.resolve("data").resolve(file)), file);
        }
        assertEquals("shapes", Files.readString(root.resolve("data").resolve("blue_square.txt")).strip());

        // the progress file the stream reads has one line before each batch and one at the end
        List<String> lines = Files.readAllLines(root.resolve(".lora-gui/label/" + id + "/progress.jsonl"));
        assertEquals(List.of(0, 4, 7), lines.stream().map(l -> {
            try {
                return JSON.readTree(l).path("done").asInt();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).toList());
        assertEquals("", JSON.readTree(lines.getLast()).path("file").asText("x"));
        // a finished labeling streams its final state at once
        List<Event> again = events("/api/dataset/label/" + id + "/events");
        assertEquals(List.of("progress", "end"), again.stream().map(Event::name).toList());
    }
}
