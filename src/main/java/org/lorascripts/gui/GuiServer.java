package org.lorascripts.gui;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.ConfigKey;
import org.lorascripts.config.ConfigKeys;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.ValueKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The local web app of {@code ./lora gui} on Javalin (Jetty): the page and its assets from the jar, and a
 * JSON API over the config schema, the CLI's validation, YAML files and training runs. Every request
 * passes {@link Access} first; every path a client names passes {@link Roots}; request bodies are bounded
 * ({@link #MAX_BODY}). No endpoint runs a client-given command: only the trainer on a validated config and the CLI commands of
 * {@link Models} with argument lists built here.
 */
public final class GuiServer implements AutoCloseable {
    /** The largest request body accepted (a config form is a few KiB). */
    public static final long MAX_BODY = 1 << 20;
    private static final Set<String> ASSETS = Set.of("app.js", "app.css", "i18n.js");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Roots roots;
    private final Access access;
    private final Runs runs;
    private final Models models;
    private final List<Path> presetDirs;
    private final Javalin app;
    private final String indexHtml;

    /**
     * @param cli the command that starts the CLI's Main class (see {@link Runs#thisCli()})
     * @param presetDirs folders whose *.yaml files are offered as presets (the examples)
     */
    public GuiServer(Roots roots, Access access, List<String> cli, List<Path> presetDirs) {
        this.roots = roots;
        this.access = access;
        this.runs = new Runs(cli, roots.workDir());
        runs.loadPrevious();
        this.models = new Models(cli, roots.workDir());
        this.presetDirs = List.copyOf(presetDirs);
        this.indexHtml = resource("index.html").replace("{{TOKEN}}", access.token());
        this.app = Javalin.create(config -> {
            config.http.maxRequestSize = MAX_BODY;
            config.startup.showJavalinBanner = false;
            config.routes.before(this::guard);
            config.routes.exception(HttpResponseException.class, (e, ctx) -> ctx.status(e.getStatus()).result(e.getMessage()));
            config.routes.exception(Roots.Refused.class, (e, ctx) -> ctx.status(403).result("error: " + e.getMessage()));
            config.routes.exception(ConfigException.class, (e, ctx) -> ctx.status(400).contentType("application/json")
                    .result(json(JSON.createObjectNode().set("errors", JSON.valueToTree(e.problems())))));
            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> ctx.status(400).result("error: " + e.getMessage()));
            config.routes.exception(org.lorascripts.data.DatasetException.class, (e, ctx) -> ctx.status(400).result("error: " + e.getMessage()));
            config.routes.exception(org.lorascripts.train.TrainingException.class, (e, ctx) -> ctx.status(400).result("error: " + e.getMessage()));
            config.routes.exception(IllegalStateException.class, (e, ctx) -> ctx.status(409).result("error: " + e.getMessage()));
            config.routes.get("/", ctx -> ctx.html(indexHtml).header("Cache-Control", "no-store"));
            config.routes.get("/assets/{name}", this::asset);
            config.routes.get("/api/schema", ctx -> sendJson(ctx, FormSchema.json(JSON)));
            config.routes.get("/api/presets", ctx -> sendJson(ctx, JSON.valueToTree(presets().keySet())));
            config.routes.get("/api/preset", this::preset);
            config.routes.get("/api/yaml", this::loadYaml);
            config.routes.post("/api/validate", this::validate);
            config.routes.post("/api/yaml", this::saveYaml);
            config.routes.post("/api/dry-run", ctx -> sendJson(ctx, models.dryRun(FormYaml.toYaml(form(ctx)), roots.workDir())));
            config.routes.get("/api/runs", ctx -> {
                ArrayNode list = JSON.createArrayNode();
                runs.all().forEach(r -> list.add(r.summary()));
                sendJson(ctx, list);
            });
            config.routes.post("/api/runs", this::start);
            config.routes.get("/api/runs/{id}", ctx -> sendJson(ctx, runs.get(ctx.pathParam("id")).progress()));
            config.routes.post("/api/runs/{id}/stop", ctx -> {
                runs.get(ctx.pathParam("id")).stop();
                sendJson(ctx, runs.get(ctx.pathParam("id")).summary());
            });
            config.routes.post("/api/runs/{id}/resume", ctx -> {
                Runs.Run r = runs.get(ctx.pathParam("id"));
                r.launch(true);
                sendJson(ctx, r.summary());
            });
            config.routes.get("/api/runs/{id}/samples/{file}", this::sample);
            config.routes.get("/api/dataset", ctx -> sendJson(ctx, Dataset.list(JSON, roots.resolve(ctx.queryParam("path")))));
            config.routes.get("/api/dataset/image", this::datasetImage);
            config.routes.post("/api/dataset/bulk", ctx -> {
                JsonNode body = JSON.readTree(ctx.body());
                List<String> args = new ArrayList<>();
                body.path("args").forEach(a -> args.add(a.asText()));
                sendJson(ctx, models.captions(roots.resolve(body.path("path").asText(null)), body.path("op").asText(null), args));
            });
            config.routes.post("/api/models/info", ctx -> sendJson(ctx, models.info(roots.resolve(JSON.readTree(ctx.body()).path("path").asText(null)))));
            config.routes.post("/api/models/sample", this::modelSample);
            config.routes.post("/api/models/generate", this::modelGenerate);
            config.routes.post("/api/dataset/label", this::label);
            config.routes.post("/api/dataset/text-preview", this::textPreview);
            config.routes.get("/api/dataset/label/{id}", ctx -> sendJson(ctx, models.labelStatus(ctx.pathParam("id"))));
            config.routes.get("/api/models/sample/{id}/{file}", ctx -> {
                Path file = models.sampleFile(ctx.pathParam("id"), ctx.pathParam("file"));
                if (!Files.isRegularFile(file)) throw new HttpResponseException(404, "no such sample", Map.of());
                ctx.contentType("image/png").result(Files.readAllBytes(file));
            });
            config.routes.post("/api/dataset/caption", ctx -> {
                JsonNode body = JSON.readTree(ctx.body());
                Path image = roots.resolve(body.path("image").asText(null));
                String folder = body.path("folder").asText("").strip();
                Path written = Dataset.writeCaption(folder.isEmpty() ? null : roots.resolve(folder), image, body.path("caption").asText(""));
                sendJson(ctx, JSON.createObjectNode().put("saved", written.toString()));
            });
            config.routes.sse("/api/dataset/label/{id}/events", client -> {
                String id = client.ctx().pathParam("id");
                ObjectNode status;
                try {
                    status = models.labelStatus(id);
                } catch (IllegalArgumentException e) {
                    client.sendEvent("end", json(JSON.createObjectNode().put("id", id).put("state", "failed").put("log", "error: " + e.getMessage())));
                    return;
                }
                String sent = null;
                // a progress event whenever something changed (checked four times a second), then one "end" event
                while (!client.terminated()) {
                    String now = json(status);
                    if (!now.equals(sent)) client.sendEvent("progress", now);
                    sent = now;
                    if (!"running".equals(status.path("state").asText())) {
                        client.sendEvent("end", now);
                        break;
                    }
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    status = models.labelStatus(id);
                }
            });
            config.routes.sse("/api/runs/{id}/events", client -> {
                Runs.Run r = runs.get(client.ctx().pathParam("id"));
                // one event per half second until the run ends or the page goes away
                while (!client.terminated()) {
                    ObjectNode p = r.progress();
                    client.sendEvent("progress", json(p));
                    if (!"running".equals(p.get("state").asText())) break;
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            });
        });
    }

    /** Starts listening; returns the port (useful when 0 was asked for). */
    public int start(String host, int port) {
        app.start(host, port);
        return app.port();
    }

    @Override public void close() {
        runs.stopAll();
        models.stopLabels();
        app.stop();
    }

    private void guard(Context ctx) {
        String why = access.check(ctx.method().name(), ctx.header("Host"), ctx.header("Origin"), ctx.header("Sec-Fetch-Site"),
                ctx.header(Access.HEADER), ctx.cookie(Access.COOKIE), ctx.queryParam("token"));
        if (why != null) throw new HttpResponseException(403, "error: " + why, Map.of());
        if (!access.loopback() && access.token().equals(ctx.queryParam("token"))) {
            ctx.header("Set-Cookie", Access.COOKIE + "=" + access.token() + "; Path=/; HttpOnly; SameSite=Strict");
        }
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'");
        ctx.header("Referrer-Policy", "no-referrer");
    }

    private void asset(Context ctx) {
        String name = ctx.pathParam("name");
        if (!ASSETS.contains(name)) throw new HttpResponseException(404, "no such asset", Map.of());
        ctx.contentType(name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
        ctx.result(resource(name));
    }

    private Map<String, Path> presets() {
        Map<String, Path> out = new TreeMap<>();
        for (Path dir : presetDirs) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(f -> f.getFileName().toString().endsWith(".yaml"))
                        .forEach(f -> out.putIfAbsent(f.getFileName().toString().replaceFirst("\\.yaml$", ""), f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private void preset(Context ctx) throws IOException {
        Path file = presets().get(ctx.queryParam("name"));
        if (file == null) throw new HttpResponseException(404, "error: no preset named " + ctx.queryParam("name"), Map.of());
        sendJson(ctx, JSON.valueToTree(FormYaml.fromYaml(Files.readString(file), file.toAbsolutePath().getParent())));
    }

    private void loadYaml(Context ctx) throws IOException {
        Path file = roots.resolve(ctx.queryParam("path"));
        if (!Files.isRegularFile(file)) throw new HttpResponseException(404, "error: no file " + ctx.queryParam("path"), Map.of());
        if (Files.size(file) > MAX_BODY) throw new HttpResponseException(413, "error: " + file + " is larger than 1 MiB", Map.of());
        sendJson(ctx, JSON.valueToTree(FormYaml.fromYaml(Files.readString(file), file.getParent())));
    }

    /** The request's {"form": {key: text}} with every path made absolute and checked against the roots. */
    private Map<String, String> form(Context ctx) {
        JsonNode body;
        try {
            body = JSON.readTree(ctx.body());
        } catch (IOException e) {
            throw new IllegalArgumentException("the request body is not JSON");
        }
        if (body == null || !body.path("form").isObject()) throw new IllegalArgumentException("expected {\"form\": {...}}");
        Map<String, String> form = JSON.convertValue(body.get("form"), new TypeReference<LinkedHashMap<String, String>>() {});
        for (var e : form.entrySet()) {
            String v = e.getValue() == null ? "" : e.getValue().strip();
            ConfigKey k = ConfigKeys.lookup(e.getKey()).orElse(null);
            if (k == null || v.isEmpty()) continue;
            if (k.kind() == ValueKind.PATH) {
                e.setValue(roots.resolve(v).toString());
            } else if (k.kind() == ValueKind.MODEL && !v.startsWith("builtin:") && Files.exists(roots.workDir().resolve(v))) {
                e.setValue(roots.resolve(v).toString());
            }
        }
        return form;
    }

    private void validate(Context ctx) {
        String yaml = FormYaml.toYaml(form(ctx));
        FormYaml.Verdict v = FormYaml.validate(yaml, "gui.yaml", roots.workDir());
        ObjectNode o = JSON.createObjectNode();
        o.put("yaml", yaml);
        o.set("errors", JSON.valueToTree(v.errors()));
        o.set("warnings", JSON.valueToTree(v.warnings()));
        if (v.memory() != null) o.put("memory", v.memory());
        sendJson(ctx, o);
    }

    private void saveYaml(Context ctx) throws IOException {
        JsonNode body = JSON.readTree(ctx.body());
        Path file = roots.resolve(body.path("path").asText(null));
        if (!file.getFileName().toString().matches(".*\\.ya?ml")) throw new IllegalArgumentException("save as a .yaml file");
        String yaml = FormYaml.toYaml(form(ctx));
        Files.createDirectories(file.getParent());
        Path tmp = Files.createTempFile(file.getParent(), ".gui-", ".yaml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        sendJson(ctx, JSON.createObjectNode().put("saved", file.toString()));
    }

    private void start(Context ctx) throws IOException {
        Map<String, String> form = form(ctx);
        String yaml = FormYaml.toYaml(form);
        var loaded = ConfigLoader.loadText(yaml, "gui.yaml", roots.workDir(), List.of());  // refuses an invalid config (400)
        Path output = loaded.config().output().outputDir().toAbsolutePath();
        roots.resolve(output.toString());
        String name = loaded.config().output().outputName();
        sendJson(ctx, runs.start(yaml, name == null ? "run" : name, output).summary());
    }

    private void sample(Context ctx) throws IOException {
        Runs.Run r = runs.get(ctx.pathParam("id"));
        String name = ctx.pathParam("file");
        if (r.outputDir == null || !name.matches("[A-Za-z0-9._-]+\\.png")) throw new HttpResponseException(404, "no such sample", Map.of());
        Path file = r.outputDir.resolve("samples").resolve(name);
        if (!Files.isRegularFile(file) || !file.toRealPath().startsWith(r.outputDir.toRealPath())) {
            throw new HttpResponseException(404, "no such sample", Map.of());
        }
        ctx.contentType("image/png");
        ctx.result(Files.readAllBytes(file));
    }

    private void modelSample(Context ctx) throws IOException, InterruptedException {
        JsonNode b = JSON.readTree(ctx.body());
        String base = b.path("base").asText("").strip();
        if (base.isEmpty()) throw new IllegalArgumentException("give a base model (builtin:tiny-sd, or a checkpoint path)");
        if (!base.startsWith("builtin:")) base = roots.resolve(base).toString();
        String lora = b.path("lora").asText("").strip();
        Path loraFile = lora.isEmpty() ? null : roots.resolve(lora);
        sendJson(ctx, models.sample(base, loraFile, b.path("weight").asDouble(1.0), b.path("prompt").asText(""),
                b.path("seed").asLong(42), b.path("steps").asInt(20)));
    }

    private void modelGenerate(Context ctx) throws IOException, InterruptedException {
        JsonNode b = JSON.readTree(ctx.body());
        String base = b.path("base").asText("").strip();
        if (base.isEmpty()) throw new IllegalArgumentException("give a base model (builtin:tiny-llama, or an HF model folder)");
        if (!base.startsWith("builtin:")) base = roots.resolve(base).toString();
        String adapter = b.path("adapter").asText("").strip();
        Path adapterDir = adapter.isEmpty() ? null : roots.resolve(adapter);
        sendJson(ctx, models.generate(base, adapterDir, b.path("prompt").asText(""), b.path("maxNewTokens").asInt(64),
                b.path("seed").asLong(0), b.path("temperature").asDouble(0)));
    }

    private void label(Context ctx) throws IOException {
        JsonNode b = JSON.readTree(ctx.body());
        Path folder = roots.resolve(b.path("path").asText(null));
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException("not a folder: " + folder);
        String model = b.path("model").asText("").strip();
        if (!model.isEmpty() && !"none".equals(model)) model = roots.resolve(model).toString();
        sendJson(ctx, models.startLabel(folder, b.path("backend").asText("wd14"), b.path("threshold").asDouble(0.35),
                b.path("trigger").asText(""), model, b.path("overwrite").asBoolean(false)));
    }

    /**
     * The first training examples of a text config ({"form": the text keys, "count": N}) as the trainer renders,
     * tokenises and masks them ({@link org.lorascripts.tasks.llm.TextPreview}); the form is read by the CLI's
     * loader, so its keys, defaults and messages are the trainer's.
     */
    private void textPreview(Context ctx) throws IOException {
        Map<String, String> form = form(ctx);
        form.put("task_type", "text-generation");
        int count = JSON.readTree(ctx.body()).path("count").asInt(5);
        var loaded = ConfigLoader.loadText(FormYaml.toYaml(form), "gui.yaml", roots.workDir(), List.of());
        for (var p : loaded.config().text().trainData()) roots.resolve(p.toString());
        sendJson(ctx, JSON.valueToTree(org.lorascripts.tasks.llm.TextPreview.of(loaded.config(), count)));
    }

    private void datasetImage(Context ctx) throws IOException {
        Path file = roots.resolve(ctx.queryParam("path"));
        if (!Files.isRegularFile(file) || !org.lorascripts.data.ImageFiles.isImage(file)) {
            throw new HttpResponseException(404, "error: not an image: " + ctx.queryParam("path"), Map.of());
        }
        String ext = org.lorascripts.data.ImageFiles.extension(file.getFileName().toString());
        ctx.contentType(switch (ext) {
            case ".jpg", ".jpeg", "jpg", "jpeg" -> "image/jpeg";
            case ".webp", "webp" -> "image/webp";
            case ".bmp", "bmp" -> "image/bmp";
            default -> "image/png";
        });
        ctx.header("Cache-Control", "no-store");
        ctx.result(Files.readAllBytes(file));
    }

    private static void sendJson(Context ctx, JsonNode node) {
        ctx.contentType("application/json").result(json(node));
    }

    private static String json(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = GuiServer.class.getResourceAsStream("/gui/" + name)) {
            if (in == null) throw new IllegalStateException("gui/" + name + " is missing from the jar; rebuild with mvn package");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The folder lora-scripts runs from (holding examples/): the jar's or the classes folder's grandparent. */
    public static Path installRoot() {
        try {
            Path here = Path.of(GuiServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path parent = here.getParent();
            return parent == null || parent.getParent() == null ? Path.of(".") : parent.getParent();
        } catch (Exception e) {
            return Path.of(".");
        }
    }

    /** Where presets come from: examples/ of the installation, then of the working folder. */
    public static List<Path> presetDirsFor(Path workDir) {
        return List.of(installRoot().resolve("examples"), workDir.resolve("examples"));
    }
}
