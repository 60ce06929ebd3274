package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.hub.FakeHub;
import org.lorascripts.io.PngWriter;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import picocli.CommandLine;

/**
 * The commands with models named on the Hub, served by a local {@link FakeHub} through HF_ENDPOINT:
 * train (dry run and two real steps) with {@code base_model: org/name}, label's standard tagger,
 * {@code ./lora download}, offline messages and doctor's Hub lines.
 */
class HubCliTest {
    static final String COMMIT = "1111111111111111111111111111111111111111";

    @TempDir Path dir;
    FakeHub hub;

    record Run(int code, String out, String err) {}

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        HubModels.useEnvironment(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HOME", dir.resolve("hf").toString()));
    }

    @AfterEach
    void stop() {
        HubModels.useEnvironment(null);
        hub.close();
    }

    /** stdout and stderr of the command and of what it prints on System.err (the download progress). */
    static Run lora(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream(), sysErr = new ByteArrayOutputStream();
        StringWriter out = new StringWriter(), err = new StringWriter();
        try {
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
            CommandLine cmd = new CommandLine(new Main());
            cmd.setOut(new PrintWriter(out, true));
            cmd.setErr(new PrintWriter(err, true));
            int code = cmd.execute(args);
            return new Run(code, out + sysOut.toString(StandardCharsets.UTF_8), err + sysErr.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The built-in tiny LLaMA served as acme/tiny-llama, with a pickle and a README the download must skip. */
    void serveTinyLlama() throws IOException {
        Path builtin = TinyLlamaBuiltin.ensureCached();
        FakeHub.Repo repo = hub.repo("acme/tiny-llama", COMMIT);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            repo.file(f, Files.readAllBytes(builtin.resolve(f)));
        }
        repo.file("pytorch_model.bin", new byte[64]).file("README.md", "# tiny");
    }

    Path textConfig(String extra) throws IOException {
        Path data = Files.writeString(dir.resolve("tea.txt"), "Green tea is brewed at 80 degrees.\nBlack tea takes boiling water.\n"
                + "Oolong sits between them.\nTea leaves unfurl in hot water.\n");
        return Files.writeString(dir.resolve("hub.yaml"), "task_type: text-generation\nbase_model: acme/tiny-llama\ntrain_data_dir: "
                + data.getFileName() + "\nmax_seq_len: 32\nbatch_size: 2\noutput_dir: out\n" + extra);
    }

    @Test
    void trainDryRunFetchesTheBaseModelOnceIntoTheSharedCache() throws IOException {
        serveTinyLlama();
        Path config = textConfig("max_steps: 2\n");
        Run first = lora("train", "--config", config.toString(), "--dry-run");
        assertEquals(0, first.code(), first.err());
        Path snapshot = dir.resolve("hf/hub/models--acme--tiny-llama/snapshots").resolve(COMMIT);
        assertTrue(first.out().contains(snapshot.toString()), first.out());
        assertTrue(first.err().contains("downloading acme/tiny-llama: 4 files"), first.err());
        assertEquals(COMMIT, Files.readString(dir.resolve("hf/hub/models--acme--tiny-llama/refs/main")));
        try (Stream<Path> s = Files.list(snapshot)) {
            assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        long gets = hub.fileGets();
        Run second = lora("train", "--config", config.toString(), "--dry-run");
        assertEquals(0, second.code(), second.err());
        assertEquals(gets, hub.fileGets(), "the second run downloads nothing");
        assertFalse(second.err().contains("downloading"), second.err());
    }

    @Test
    void trainsTwoStepsOnAHubModel() throws IOException {
        serveTinyLlama();
        Path config = textConfig("max_steps: 2\n");
        Run r = lora("train", "--config", config.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(dir.resolve("out/out/adapter_model.safetensors")), r.out() + r.err());
        // PEFT records the Hub id, as for an adapter trained with transformers on the same model
        assertEquals("acme/tiny-llama", org.lorascripts.io.Json.read(dir.resolve("out/out/adapter_config.json"))
                .path("base_model_name_or_path").asText());
    }

    @Test
    void anImageDryRunOnASingleFileRepository() throws Exception {
        Path ckpt = org.lorascripts.models.sd.load.TinySdBuiltin.byName("tiny-sd").orElseThrow().ensureCached();
        hub.repo("acme/tiny-sd", COMMIT).file("tiny-sd.safetensors", Files.readAllBytes(ckpt)).file("README.md", "# tiny sd");
        Path data = Path.of("examples/quickstart_data").toAbsolutePath();
        Path config = Files.writeString(dir.resolve("sd.yaml"), "base_model: acme/tiny-sd\ntrain_data_dir: " + data + "\nresolution: 64\n"
                + "output_dir: out\nmax_steps: 2\n");
        Run r = lora("train", "--config", config.toString(), "--dry-run");
        assertEquals(0, r.code(), r.err());
        Path file = dir.resolve("hf/hub/models--acme--tiny-sd/snapshots").resolve(COMMIT).resolve("tiny-sd.safetensors");
        assertTrue(r.out().contains(file.toString()), r.out());
        assertTrue(Files.isSymbolicLink(file));
        assertFalse(Files.exists(file.resolveSibling("README.md")));
    }

    @Test
    void extractTakesAHubCheckpoint() throws Exception {
        Path ckpt = org.lorascripts.models.sd.load.TinySdBuiltin.byName("tiny-sd").orElseThrow().ensureCached();
        hub.repo("acme/tiny-sd", COMMIT).file("tiny-sd.safetensors", Files.readAllBytes(ckpt));
        Path out = dir.resolve("x.safetensors");
        Run r = lora("extract", "--base", "acme/tiny-sd", "--tuned", ckpt.toString(), "--rank", "2", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("downloading acme/tiny-sd"), r.err());
        assertTrue(Files.isSymbolicLink(dir.resolve("hf/hub/models--acme--tiny-sd/snapshots").resolve(COMMIT).resolve("tiny-sd.safetensors")));
        assertTrue(Files.size(out) > 0);
    }

    @Test
    void generateTakesAHubModelAsBase() throws IOException {
        serveTinyLlama();
        Run r = lora("generate", "--base", "acme/tiny-llama", "--prompt", "The town", "--max-new-tokens", "3");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().isBlank(), r.out());
        assertTrue(r.err().contains("downloading acme/tiny-llama: 4 files"), r.err());
        Run local = lora("generate", "--base", "acme/tiny-llama", "--prompt", "The town", "--max-new-tokens", "3");
        assertEquals(r.out(), local.out(), "the cached model gives the same greedy text");
        assertFalse(local.err().contains("downloading"), local.err());
    }

    @Test
    void aGatedBaseModelIsOneClearLine() throws IOException {
        serveTinyLlama();
        hub.repos.get("acme/tiny-llama").token = "hf_needed";
        Run r = lora("train", "--config", textConfig("").toString(), "--dry-run");
        assertEquals(2, r.code());
        // the listing is public, the files are not: the download starts, then stops with one line
        assertEquals(List.of("error: " + dir.resolve("hub.yaml") + ":2: base_model acme/tiny-llama: access denied (HTTP 401): the model is gated or private; accept the licence at"
                + " https://huggingface.co/acme/tiny-llama and set HF_TOKEN"), r.err().lines().filter(l -> !l.startsWith("downloading ")).toList());
    }

    @Test
    void offlineWithTheModelMissingSaysWhatToDo() throws IOException {
        serveTinyLlama();
        HubModels.useEnvironment(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_HOME", dir.resolve("hf").toString(), "HF_HUB_OFFLINE", "1"));
        Run r = lora("train", "--config", textConfig("").toString(), "--dry-run");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + dir.resolve("hub.yaml") + ":2: base_model acme/tiny-llama is not in the Hub cache " + dir.resolve("hf/hub")
                + ": HF_HUB_OFFLINE=1 allows only the cache; run ./lora download acme/tiny-llama on a machine with network access"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(hub.requests.isEmpty());
    }

    @Test
    void downloadPrefetchesAndPrintsThePath() throws IOException {
        serveTinyLlama();
        Run r = lora("download", "acme/tiny-llama", "--include", "*.json");
        assertEquals(0, r.code(), r.err());
        Path snapshot = dir.resolve("hf/hub/models--acme--tiny-llama/snapshots").resolve(COMMIT);
        assertTrue(r.out().startsWith(snapshot + "\n"), r.out());
        assertTrue(Files.exists(snapshot.resolve("tokenizer.json")));
        assertFalse(Files.exists(snapshot.resolve("model.safetensors")));
        Run bad = lora("download", "not-an-id");
        assertEquals(2, bad.code());
        assertTrue(bad.err().startsWith("error: 'not-an-id' is not a Hub model id: write ORG/NAME"), bad.err());
    }

    @Test
    void labelWithoutModelUsesTheStandardTagger() throws Exception {
        Path tagger = Path.of(HubCliTest.class.getResource("/fixtures/tiny-tagger").toURI());
        hub.repo("SmilingWolf/wd-v1-4-convnext-tagger-v2", COMMIT)
                .file("model.onnx", Files.readAllBytes(tagger.resolve("model.onnx")))
                .file("selected_tags.csv", Files.readAllBytes(tagger.resolve("selected_tags.csv")))
                .file("saved_model.pb", new byte[100]).file("keras_metadata.pb", new byte[10]);
        Path images = Files.createDirectories(dir.resolve("images"));
        byte[] px = new byte[4 * 4 * 3];
        for (int i = 0; i < px.length; i += 3) px[i] = (byte) 255;
        PngWriter.write(images.resolve("a.png"), px, 4, 4, PngWriter.Channels.RGB);
        Run r = lora("label", "--input", images.toString(), "--trigger", "sks", "--threshold", "0.6");
        assertEquals(0, r.code(), r.err());
        // the same captions as with --model pointing at the fixture folder (LabelCommandTest)
        assertEquals("file_name,text\na.png,\"sks, red background, long hair\"\n", Files.readString(images.resolve("metadata.csv")));
        Path snapshot = dir.resolve("hf/hub/models--SmilingWolf--wd-v1-4-convnext-tagger-v2/snapshots").resolve(COMMIT);
        try (Stream<Path> s = Files.list(snapshot)) {
            assertEquals(List.of("model.onnx", "selected_tags.csv"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void labelOfflineWithoutTheTaggerSaysWhatToDo() throws Exception {
        HubModels.useEnvironment(Map.of("HF_HOME", dir.resolve("hf").toString(), "HF_HUB_OFFLINE", "1"));
        Path images = Files.createDirectories(dir.resolve("images"));
        Run r = lora("label", "--input", images.toString());
        assertEquals(2, r.code());
        List<String> lines = r.err().lines().toList();
        assertEquals(2, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("error: SmilingWolf/wd-v1-4-convnext-tagger-v2 is not in the Hub cache"), r.err());
        assertEquals("hint: the standard tagger SmilingWolf/wd-v1-4-convnext-tagger-v2 comes from the Hugging Face Hub on first use:"
                + " ./lora download SmilingWolf/wd-v1-4-convnext-tagger-v2 on a machine that reaches it (or a mirror through HF_ENDPOINT),"
                + " or pass --model DIR with a downloaded copy, or --model none --trigger WORD", lines.get(1));
    }

    @Test
    void doctorShowsTheHubCacheAndEndpoint() {
        Run r = lora("doctor");
        assertTrue(r.out().contains("hub cache    " + dir.resolve("hf/hub") + " (0.00 GiB)\n"), r.out());
        assertTrue(r.out().contains("hub          " + hub.endpoint() + ", token none\n"), r.out());
        // what the loaded libtorch offers for fp8 storage
        assertTrue(r.out().contains(org.lorascripts.tensor.DType.F8E4M3.available() ? "float8       yes (fp8_base, load_in_8bit)\n"
                : "float8       no: fp8_base and load_in_8bit need libtorch 2.1 or newer\n"), r.out());
    }
}
