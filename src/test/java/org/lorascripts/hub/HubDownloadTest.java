package org.lorascripts.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real client against {@link FakeHub}: layout, reuse, resume, checksums, offline mode, tokens, errors. */
class HubDownloadTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir Path home;
    FakeHub server;
    byte[] weights;
    FakeHub.Repo tiny;

    @BeforeEach
    void start() throws IOException {
        server = new FakeHub();
        weights = new byte[300_000];
        new Random(7).nextBytes(weights);
        tiny = server.repo("acme/tiny-model", COMMIT)
                .file("config.json", "{\"model_type\": \"llama\"}\n")
                .file("model.safetensors", weights)
                .file("model.fp16.safetensors", new byte[1000])
                .file("pytorch_model.bin", new byte[500])
                .file("tokenizer.json", "{\"version\": \"1.0\"}")
                .file("README.md", "# tiny")
                .file("original/consolidated.safetensors", new byte[10]);
    }

    @AfterEach
    void stop() { server.close(); }

    Map<String, String> env(String... extra) {
        Map<String, String> m = new HashMap<>();
        m.put("HF_ENDPOINT", server.endpoint());
        m.put("HF_HOME", home.resolve("hf").toString());
        for (int i = 0; i < extra.length; i += 2) m.put(extra[i], extra[i + 1]);
        return m;
    }

    Hub hub(Map<String, String> env) {
        return new Hub(HubEnvironment.from(env, home), DownloadListener.SILENT, 4, Duration.ofMillis(5));
    }

    Path repoDir() { return home.resolve("hf/hub/models--acme--tiny-model"); }

    @Test
    void aRepositoryLandsInHuggingfaceHubsLayout() throws IOException {
        Path snapshot = hub(env()).fetch(HubId.parse("acme/tiny-model").orElseThrow(), FileSelection.AUTO);
        assertEquals(repoDir().resolve("snapshots").resolve(COMMIT), snapshot);
        assertEquals(COMMIT, Files.readString(repoDir().resolve("refs/main")));   // no newline, as huggingface_hub writes it
        String sha = FakeHub.sha256(weights);
        // LFS files are named by sha256, others by their git blob sha1; links are relative
        assertEquals(Path.of("../../blobs/" + sha), Files.readSymbolicLink(snapshot.resolve("model.safetensors")));
        byte[] config = tiny.files.get("config.json");
        assertEquals(Path.of("../../blobs/" + FakeHub.gitBlobSha1(config)), Files.readSymbolicLink(snapshot.resolve("config.json")));
        assertArrayEquals(weights, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertArrayEquals(config, Files.readAllBytes(snapshot.resolve("config.json")));
        // only what a loader needs: no pickles, no other variant, no README, nothing below the root
        try (Stream<Path> s = Files.list(snapshot)) {
            assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (Stream<Path> s = Files.list(repoDir().resolve("blobs"))) {
            assertEquals(3, s.count(), "three blobs, no .incomplete left");
        }
        // the LFS file came from the other host after a 302; the small ones straight from the endpoint
        assertEquals(1, server.requests("cdn", "GET").size());
    }

    @Test
    void aSecondResolveDownloadsNothing() {
        Hub hub = hub(env());
        hub.fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        long gets = server.fileGets();
        AtomicLong bytes = new AtomicLong();
        Hub again = new Hub(HubEnvironment.from(env(), home), new DownloadListener() {
            @Override public void started(String what, int files, long total) { bytes.addAndGet(total); }
            @Override public void transferred(long n) {}
            @Override public void finished(boolean complete) {}
        }, 4, Duration.ofMillis(5));
        again.fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertEquals(gets, server.fileGets(), "no file was fetched again");
        assertEquals(0, bytes.get(), "no download started");
    }

    @Test
    void aCutConnectionResumesWithARangeRequest() throws IOException {
        server.cutAfter.put("model.safetensors", 100_000);
        Path snapshot = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertEquals(1, server.cuts.get());
        assertArrayEquals(weights, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        List<FakeHub.Request> cdn = server.requests("cdn", "GET");
        assertEquals(2, cdn.size(), cdn.toString());
        assertNull(cdn.get(0).range());
        assertTrue(cdn.get(1).range().matches("bytes=\\d+-"), cdn.get(1).range());
        long from = Long.parseLong(cdn.get(1).range().replaceAll("\\D", ""));
        assertTrue(from > 0 && from <= 100_000, "resumed at " + from);
    }

    @Test
    void aBusyHubIsRetried() throws IOException {
        server.busy.set(2);
        Path snapshot = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertArrayEquals(weights, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertEquals(3, server.requests("hub", "GET").stream().filter(r -> r.path().startsWith("/api/")).count(), "two 503s, then the listing");
    }

    @Test
    void aPartialFileFromAnEarlierRunIsContinued() throws IOException {
        Path incomplete = repoDir().resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, java.util.Arrays.copyOf(weights, 123_456));
        Path snapshot = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertArrayEquals(weights, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertEquals("bytes=123456-", server.requests("cdn", "GET").get(0).range());
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void aChecksumMismatchIsRefused() {
        server.damaged.add("model.safetensors");
        HubException e = assertThrows(HubException.class, () -> hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertTrue(e.getMessage().startsWith("acme/tiny-model/model.safetensors: sha256 mismatch (expected " + FakeHub.sha256(weights)),
                e.getMessage());
        assertFalse(Files.exists(repoDir().resolve("blobs").resolve(FakeHub.sha256(weights))));
        assertFalse(Files.exists(repoDir().resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete")));
        assertFalse(Files.exists(repoDir().resolve("snapshots").resolve(COMMIT).resolve("model.safetensors"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aSmallFileIsCheckedAgainstItsGitBlobId() {
        server.damaged.add("config.json");
        HubException e = assertThrows(HubException.class, () -> hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertTrue(e.getMessage().startsWith("acme/tiny-model/config.json: git blob sha1 mismatch (expected "
                + FakeHub.gitBlobSha1(tiny.files.get("config.json"))), e.getMessage());
    }

    @Test
    void offlineModeUsesOnlyTheCache() {
        HubException missing = assertThrows(HubException.class,
                () -> hub(env("HF_HUB_OFFLINE", "1")).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertTrue(missing.getMessage().startsWith("acme/tiny-model is not in the Hub cache " + home.resolve("hf/hub")
                + ": HF_HUB_OFFLINE=1 allows only the cache; run ./lora download acme/tiny-model"), missing.getMessage());
        assertEquals(0, server.requests.size(), "offline sends nothing");

        Path online = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        server.requests.clear();
        Path offline = hub(env("HF_HUB_OFFLINE", "1")).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertEquals(online, offline);
        assertEquals(0, server.requests.size());
    }

    @Test
    void withoutTheNetworkACachedModelIsUsed() {
        Path online = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        String endpoint = server.endpoint();
        server.close();
        java.util.List<String> notes = new java.util.ArrayList<>();
        Hub noNetwork = new Hub(HubEnvironment.from(env("HF_ENDPOINT", endpoint), home), new DownloadListener() {
            @Override public void started(String what, int files, long bytes) {}
            @Override public void transferred(long bytes) {}
            @Override public void finished(boolean complete) {}
            @Override public void note(String message) { notes.add(message); }
        }, 4, Duration.ofMillis(5));
        assertEquals(online, noNetwork.fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertEquals(List.of("cannot reach " + endpoint + "; using acme/tiny-model from the cache (" + online + ")"), notes);
    }

    @Test
    void theTokenGoesOnlyToTheEndpointNeverToTheRedirectsHost() {
        tiny.token = "hf_secret";
        hub(env("HF_TOKEN", "hf_secret")).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertFalse(server.requests("hub", null).isEmpty());
        for (FakeHub.Request r : server.requests("hub", null)) assertEquals("Bearer hf_secret", r.authorization(), r.toString());
        assertFalse(server.requests("cdn", null).isEmpty());
        for (FakeHub.Request r : server.requests("cdn", null)) assertNull(r.authorization(), r.toString());
    }

    @Test
    void theTokenFileIsReadWhenHfTokenIsUnset() throws IOException {
        tiny.token = "hf_from_file";
        Files.createDirectories(home.resolve("hf"));
        Files.writeString(home.resolve("hf/token"), "hf_from_file\n");
        hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO);
        assertEquals("Bearer hf_from_file", server.requests("hub", "GET").get(0).authorization());
    }

    @Test
    void gatedNotFoundAndNetworkFailuresAreOneLine() {
        tiny.token = "hf_right";
        HubException gated = assertThrows(HubException.class, () -> hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertEquals("acme/tiny-model: access denied (HTTP 401): the model is gated or private; accept the licence at"
                + " https://huggingface.co/acme/tiny-model and set HF_TOKEN", gated.getMessage());
        HubException wrong = assertThrows(HubException.class,
                () -> hub(env("HF_TOKEN", "hf_wrong")).fetch(HubId.of("acme/tiny-model"), FileSelection.AUTO));
        assertTrue(wrong.getMessage().startsWith("acme/tiny-model: access denied (HTTP 403)"), wrong.getMessage());
        assertTrue(wrong.getMessage().endsWith("(the token from HF_TOKEN was refused)"), wrong.getMessage());

        HubException repo = assertThrows(HubException.class, () -> hub(env()).fetch(HubId.of("acme/nothing"), FileSelection.AUTO));
        assertEquals("acme/nothing: no such file or folder here, and no such model on " + server.endpoint() + " (HTTP 401): check the path,"
                + " or the name ORG/NAME as on the model's page (a private model also needs HF_TOKEN)", repo.getMessage());
        tiny.token = null;
        HubException rev = assertThrows(HubException.class,
                () -> hub(env()).fetch(HubId.parse("acme/tiny-model@v9").orElseThrow(), FileSelection.AUTO));
        assertEquals("acme/tiny-model has no revision 'v9' on " + server.endpoint() + " (HTTP 404): check the branch, tag or commit after @",
                rev.getMessage());
        HubException file = assertThrows(HubException.class,
                () -> hub(env()).fetch(HubId.parse("acme/tiny-model/missing.safetensors").orElseThrow(), FileSelection.AUTO));
        assertTrue(file.getMessage().startsWith("acme/tiny-model/missing.safetensors not found on " + server.endpoint()), file.getMessage());

        String deadEndpoint = server.endpoint();
        server.close();
        HubException net = assertThrows(HubException.class, () -> hub(env("HF_ENDPOINT", deadEndpoint)).fetch(HubId.of("acme/x"), FileSelection.AUTO));
        assertTrue(net.getMessage().startsWith("cannot reach " + deadEndpoint + " for acme/x ("), net.getMessage());
        assertTrue(net.getMessage().contains("set HF_HUB_OFFLINE=1 to use only the models already in"), net.getMessage());
        assertEquals(1, net.getMessage().lines().count());
    }

    @Test
    void oneFileOfARepositoryThroughHeadAndTheLinkedEtag() throws IOException {
        byte[] lora = "lora bytes".repeat(100).getBytes(StandardCharsets.UTF_8);
        server.repo("acme/loras", "fedcba9876543210fedcba9876543210fedcba98").file("a.safetensors", lora).file("b.safetensors", new byte[7])
                .file("notes.txt", "hello");
        Path file = hub(env()).fetch(HubId.parse("acme/loras/a.safetensors").orElseThrow(), FileSelection.AUTO);
        Path dir = home.resolve("hf/hub/models--acme--loras");
        assertEquals(dir.resolve("snapshots/fedcba9876543210fedcba9876543210fedcba98/a.safetensors"), file);
        assertEquals(Path.of("../../blobs/" + FakeHub.sha256(lora)), Files.readSymbolicLink(file));
        assertArrayEquals(lora, Files.readAllBytes(file));
        assertEquals("fedcba9876543210fedcba9876543210fedcba98", Files.readString(dir.resolve("refs/main")));
        assertEquals(1, server.requests("hub", "HEAD").size());
        // a small (non-LFS) file: named by the git blob sha1 from ETag
        Path txt = hub(env()).fetch(HubId.parse("acme/loras/notes.txt").orElseThrow(), FileSelection.AUTO);
        assertEquals(Path.of("../../blobs/" + FakeHub.gitBlobSha1("hello".getBytes(StandardCharsets.UTF_8))), Files.readSymbolicLink(txt));
        assertEquals("hello", Files.readString(txt));
        // the whole repository has two checkpoints and no config: the user must name one
        HubException two = assertThrows(HubException.class, () -> hub(env()).fetch(HubId.of("acme/loras"), FileSelection.AUTO));
        assertTrue(two.getMessage().startsWith("acme/loras holds several checkpoint files; name one as acme/loras/FILE"), two.getMessage());
    }

    @Test
    void theFp16VariantWhenAsked() throws IOException {
        Path snapshot = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.variant("fp16"));
        assertTrue(Files.exists(snapshot.resolve("model.fp16.safetensors")));
        assertFalse(Files.exists(snapshot.resolve("model.safetensors")));
    }

    @Test
    void includeGlobsChooseTheFiles() throws IOException {
        Path snapshot = hub(env()).fetch(HubId.of("acme/tiny-model"), FileSelection.files("*.json", "original/*"));
        assertTrue(Files.exists(snapshot.resolve("original/consolidated.safetensors")));
        assertEquals(Path.of("../../../blobs/" + FakeHub.sha256(new byte[10])),
                Files.readSymbolicLink(snapshot.resolve("original/consolidated.safetensors")));
        assertFalse(Files.exists(snapshot.resolve("model.safetensors")));
    }
}
