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
 * The Dataset page on folders whose captions live in metadata.csv or metadata.jsonl (Hugging Face
 * imagefolder) over plain HTTP: the captions are listed from the file, and an edit rewrites that file
 * (the other rows, and a jsonl line's other fields, kept) instead of writing a .txt beside the image.
 */
class GuiCaptionFilesTest {
    static final String TOKEN = "t0ken-for-tests";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path tmp;
    static Path root;
    static GuiServer server;
    static int port;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectories(tmp.resolve("root")).toRealPath();
        server = new GuiServer(new Roots(root, List.of()), new Access(TOKEN, true), List.of("false"), List.of());
        port = server.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Path folderWith(String name, String metadataFile, String metadata) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name));
        for (String image : List.of("a.png", "b.png")) {
            Files.copy(Path.of("examples/quickstart_data/blue_square.png"), dir.resolve(image));
        }
        Files.writeString(dir.resolve(metadataFile), metadata);
        return dir;
    }

    static JsonNode list(String folder) throws IOException {
        var r = GuiSecurityTest.send(port, "GET", "/api/dataset?path=" + folder, "127.0.0.1:" + port, null);
        assertEquals(200, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    static GuiSecurityTest.Response save(String folder, String image, String caption) throws IOException {
        String body = JSON.createObjectNode().put("folder", folder).put("image", folder + "/" + image).put("caption", caption).toString();
        return GuiSecurityTest.send(port, "POST", "/api/dataset/caption", "127.0.0.1:" + port, body, "X-Lora-Token: " + TOKEN);
    }

    @Test
    void csvCaptionsAreListedAndEditedInTheCsv() throws IOException {
        Path dir = folderWith("csv", "metadata.csv", "file_name,text\na.png,\"red, square\"\nb.png,blue circle\n");
        JsonNode d = list("csv");
        assertEquals("csv", d.path("format").asText());
        assertEquals("red, square", d.path("items").get(0).path("caption").asText());
        assertEquals("blue circle", d.path("items").get(1).path("caption").asText());

        var r = save("csv", "b.png", "green, \"quoted\" circle");
        assertEquals(200, r.status(), r.body());
        assertEquals("file_name,text\r\na.png,\"red, square\"\r\nb.png,\"green, \"\"quoted\"\" circle\"\r\n".replace("\r\n", "\n"),
                Files.readString(dir.resolve("metadata.csv")).replace("\r\n", "\n"));
        assertFalse(Files.exists(dir.resolve("b.txt")), "no .txt beside the image");
        assertEquals("green, \"quoted\" circle", list("csv").path("items").get(1).path("caption").asText());
    }

    @Test
    void jsonlCaptionsKeepTheLinesOtherFields() throws IOException {
        Path dir = folderWith("jsonl", "metadata.jsonl",
                "{\"file_name\": \"a.png\", \"text\": \"one\", \"score\": 7}\n{\"file_name\": \"b.png\", \"text\": \"two\"}\n");
        JsonNode d = list("jsonl");
        assertEquals("jsonl", d.path("format").asText());
        assertEquals("one", d.path("items").get(0).path("caption").asText());

        assertEquals(200, save("jsonl", "a.png", "uno").status());
        List<String> lines = Files.readAllLines(dir.resolve("metadata.jsonl"));
        JsonNode first = JSON.readTree(lines.get(0));
        assertEquals("a.png", first.path("file_name").asText());
        assertEquals("uno", first.path("text").asText());
        assertEquals(7, first.path("score").asInt());
        assertEquals("two", JSON.readTree(lines.get(1)).path("text").asText());
        assertFalse(Files.exists(dir.resolve("a.txt")));
    }

    @Test
    void anImageOutsideTheFolderIsRefused() throws IOException {
        folderWith("csv2", "metadata.csv", "file_name,text\na.png,x\n");
        folderWith("other", "metadata.csv", "file_name,text\na.png,y\n");
        String body = JSON.createObjectNode().put("folder", "csv2").put("image", "other/a.png").put("caption", "z").toString();
        assertEquals(400, GuiSecurityTest.send(port, "POST", "/api/dataset/caption", "127.0.0.1:" + port, body, "X-Lora-Token: " + TOKEN).status());
        assertEquals("file_name,text\na.png,x\n", Files.readString(root.resolve("csv2").resolve("metadata.csv")));
    }
}
