package org.lorascripts.gui;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web app's defences over plain HTTP (requests written byte for byte, so Host, Origin and encoded
 * paths reach the server as an attacker would send them): the Host check on loopback, the token on a
 * non-loopback bind, the token header and same-origin rule for POSTs, path traversal (../, URL-encoded,
 * absolute, symbolic links out of the root), and the request-size bound.
 */
class GuiSecurityTest {
    static final String TOKEN = "t0ken-for-tests";
    @TempDir static Path tmp;
    static Path root, outside;
    static GuiServer loopback, remote;
    static int loopbackPort, remotePort;

    @BeforeAll
    static void start() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.yaml"), "lora_rank: 4\n");
        Files.writeString(root.resolve("mine.yaml"), "lora_rank: 16\n");
        Files.createSymbolicLink(root.resolve("link.yaml"), outside.resolve("secret.yaml"));
        Files.createSymbolicLink(root.resolve("linkdir"), outside);
        Roots roots = new Roots(root, List.of());
        loopback = new GuiServer(roots, new Access(TOKEN, true), List.of("false"), List.of());
        loopbackPort = loopback.start("127.0.0.1", 0);
        // a non-loopback bind's rules, served on loopback for the test
        remote = new GuiServer(roots, new Access(TOKEN, false), List.of("false"), List.of());
        remotePort = remote.start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        loopback.close();
        remote.close();
    }

    record Response(int status, String head, String body) {}

    /** One HTTP/1.1 request as raw bytes; {@code headers} are extra "Name: value" lines. */
    static Response send(int port, String method, String target, String host, String body, String... headers) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder req = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
            for (String h : headers) req.append(h).append("\r\n");
            if (body != null) req.append("Content-Type: application/json\r\nContent-Length: ").append(payload.length).append("\r\n");
            req.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.UTF_8));
            try {
                out.write(payload);
                out.flush();
            } catch (IOException closedEarly) {
                // the server may answer (413) and close before reading a large body
            }
            InputStream in = s.getInputStream();
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            String head = split < 0 ? text : text.substring(0, split);
            int status = Integer.parseInt(head.substring(9, 12));
            return new Response(status, head, split < 0 ? "" : text.substring(split + 4));
        }
    }

    static Response get(String target) throws IOException {
        return send(loopbackPort, "GET", target, "127.0.0.1:" + loopbackPort, null);
    }

    static Response post(String target, String body, String... headers) throws IOException {
        return send(loopbackPort, "POST", target, "127.0.0.1:" + loopbackPort, body, headers);
    }

    @Test
    void loopbackServesThePageWithItsTokenAndRefusesForeignHostNames() throws IOException {
        Response page = get("/");
        assertEquals(200, page.status());
        assertTrue(page.body().contains("content=\"" + TOKEN + "\""), "the page carries the token for its own POSTs");
        assertEquals(200, send(loopbackPort, "GET", "/", "localhost:" + loopbackPort, null).status());
        // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host: evil.example
        assertEquals(403, send(loopbackPort, "GET", "/", "evil.example:" + loopbackPort, null).status());
        assertEquals(403, send(loopbackPort, "GET", "/api/schema", "127.evil.example", null).status());
    }

    @Test
    void postsNeedTheTokenHeaderAndTheSameOrigin() throws IOException {
        String form = "{\"form\":{\"lora_rank\":\"8\"}}";
        assertEquals(403, post("/api/validate", form).status(), "no token header");
        assertEquals(403, post("/api/validate", form, "X-Lora-Token: wrong").status());
        assertEquals(200, post("/api/validate", form, "X-Lora-Token: " + TOKEN).status());
        assertEquals(200, post("/api/validate", form, "X-Lora-Token: " + TOKEN, "Origin: http://127.0.0.1:" + loopbackPort,
                "Sec-Fetch-Site: same-origin").status());
        assertEquals(403, post("/api/validate", form, "X-Lora-Token: " + TOKEN, "Origin: http://evil.example").status());
        assertEquals(403, post("/api/validate", form, "X-Lora-Token: " + TOKEN, "Sec-Fetch-Site: cross-site").status());
        // a form POST from another site carries no custom header at all
        assertEquals(403, post("/api/runs", form, "Origin: http://evil.example", "Sec-Fetch-Site: cross-site").status());
    }

    @Test
    void aNonLoopbackBindNeedsTheTokenOnEveryRequest() throws IOException {
        String host = "192.0.2.7:" + remotePort;
        assertEquals(403, send(remotePort, "GET", "/", host, null).status());
        assertEquals(403, send(remotePort, "GET", "/api/schema", host, null).status());
        assertEquals(403, send(remotePort, "GET", "/?token=wrong", host, null).status());
        Response first = send(remotePort, "GET", "/?token=" + TOKEN, host, null);
        assertEquals(200, first.status());
        assertTrue(first.head().contains("Set-Cookie: lora_token=" + TOKEN), first.head());
        assertTrue(first.head().contains("HttpOnly") && first.head().contains("SameSite=Strict"), first.head());
        assertEquals(200, send(remotePort, "GET", "/api/schema", host, null, "Cookie: lora_token=" + TOKEN).status());
        assertEquals(403, send(remotePort, "GET", "/api/schema", host, null, "Cookie: lora_token=nope").status());
        // with the cookie but without the header, a POST is still refused (CSRF)
        assertEquals(403, send(remotePort, "POST", "/api/validate", host, "{\"form\":{}}", "Cookie: lora_token=" + TOKEN).status());
        assertEquals(200, send(remotePort, "POST", "/api/validate", host, "{\"form\":{}}", "X-Lora-Token: " + TOKEN).status());
    }

    @Test
    void pathsOutsideTheRootsAreRefused() throws IOException {
        assertEquals(200, get("/api/yaml?path=mine.yaml").status());
        assertTrue(get("/api/yaml?path=mine.yaml").body().contains("\"lora_rank\":\"16\""));
        assertEquals(403, get("/api/yaml?path=../outside/secret.yaml").status());
        assertEquals(403, get("/api/yaml?path=%2e%2e%2foutside%2fsecret.yaml").status());
        assertEquals(403, get("/api/yaml?path=%2E%2E/%2E%2E/%2E%2E/etc/passwd").status());
        assertEquals(403, get("/api/yaml?path=" + outside.resolve("secret.yaml")).status());
        assertEquals(403, get("/api/yaml?path=link.yaml").status(), "a symbolic link to a file outside");
        assertEquals(403, get("/api/yaml?path=linkdir/secret.yaml").status(), "through a linked folder");
        assertEquals(403, get("/api/yaml?path=mine.yaml%00.txt").status());
        // writing: a traversal or a link to outside never creates the file
        String save = "{\"path\":\"%s\",\"form\":{\"lora_rank\":\"4\"}}";
        assertEquals(403, post("/api/yaml", save.formatted("../outside/new.yaml"), "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/yaml", save.formatted("linkdir/new.yaml"), "X-Lora-Token: " + TOKEN).status());
        assertFalse(Files.exists(outside.resolve("new.yaml")));
        assertEquals(200, post("/api/yaml", save.formatted("sub/new.yaml"), "X-Lora-Token: " + TOKEN).status());
        assertTrue(Files.readString(root.resolve("sub/new.yaml")).contains("lora_rank: 4"));
        // a config whose paths lead outside is refused before anything is written or run
        Response run = post("/api/runs", "{\"form\":{\"base_model\":\"builtin:tiny-sd\",\"train_data_dir\":\"../outside\"}}",
                "X-Lora-Token: " + TOKEN);
        assertEquals(403, run.status());
        // the Dataset page: folders, images and captions only inside the roots
        assertEquals(403, get("/api/dataset?path=..%2foutside").status());
        assertEquals(403, get("/api/dataset?path=linkdir").status());
        assertEquals(403, get("/api/dataset/image?path=../outside/x.png").status());
        assertEquals(403, post("/api/dataset/caption", "{\"image\":\"linkdir/x.png\",\"caption\":\"x\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(400, post("/api/dataset/caption", "{\"image\":\"mine.yaml\",\"caption\":\"x\"}", "X-Lora-Token: " + TOKEN).status());
        assertFalse(Files.exists(root.resolve("mine.txt")), "a caption is only written beside an image");
        // the caption tools: only the four known ones, only on folders inside the roots
        assertEquals(403, post("/api/dataset/bulk", "{\"path\":\"linkdir\",\"op\":\"dedupe\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(400, post("/api/dataset/bulk", "{\"path\":\".\",\"op\":\"convert\",\"args\":[\"--to=csv\"]}",
                "X-Lora-Token: " + TOKEN).status());
        assertEquals(400, post("/api/dataset/bulk", "{\"path\":\".\",\"op\":\"replace\",\"args\":[\"a\"]}", "X-Lora-Token: " + TOKEN).status());
        // the Models page runs info and sample only on files inside the roots
        assertEquals(403, post("/api/models/info", "{\"path\":\"../outside/secret.yaml\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/models/sample", "{\"base\":\"builtin:tiny-sd\",\"lora\":\"link.yaml\",\"prompt\":\"x\"}",
                "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/models/sample", "{\"base\":\"/etc/passwd\",\"prompt\":\"x\"}", "X-Lora-Token: " + TOKEN).status());
        // the labeler: only on folders inside the roots, with a model folder inside them too
        assertEquals(403, post("/api/dataset/label", "{\"path\":\"linkdir\",\"model\":\"none\",\"trigger\":\"x\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/dataset/label", "{\"path\":\".\",\"model\":\"../outside\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(400, post("/api/dataset/label", "{\"path\":\".\",\"backend\":\"--help\"}", "X-Lora-Token: " + TOKEN).status());
        // the text playground: the base model and the adapter folder only inside the roots
        assertEquals(403, post("/api/models/generate", "{\"base\":\"builtin:tiny-llama\",\"adapter\":\"linkdir\",\"prompt\":\"x\"}",
                "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/models/generate", "{\"base\":\"../outside\",\"prompt\":\"x\"}", "X-Lora-Token: " + TOKEN).status());
        assertEquals(403, post("/api/models/generate", "{\"base\":\"builtin:tiny-llama\",\"prompt\":\"x\"}").status(), "no token header");
        int escaped = get("/api/models/sample/..%2f..%2foutside/x.png").status();
        assertTrue(escaped == 400 || escaped == 404, "status " + escaped);
        // sample names are plain file names
        int sample = get("/api/runs/x/samples/..%2f..%2fsecret.png").status();
        assertTrue(sample == 400 || sample == 404, "status " + sample);
    }

    @Test
    void requestBodiesAreBounded() throws IOException {
        String big = "{\"form\":{\"output_name\":\"" + "x".repeat((int) GuiServer.MAX_BODY + 10) + "\"}}";
        assertEquals(413, post("/api/validate", big, "X-Lora-Token: " + TOKEN).status());
    }

    @Test
    void onlyTheKnownAssetsAreServed() throws IOException {
        assertEquals(200, get("/assets/app.js").status());
        int encoded = get("/assets/..%2findex.html").status();
        assertTrue(encoded == 400 || encoded == 404, "status " + encoded);
        assertEquals(404, get("/assets/GuiServer.class").status());
    }
}
