package org.lorascripts.track;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.lorascripts.io.Json;

/**
 * An MLflow run fed through MLflow's documented REST API (mlflow.org/docs/latest/rest-api.html) with the
 * JDK's HTTP client: {@code experiments/get-by-name} (then {@code experiments/create} if missing),
 * {@code runs/create}, {@code runs/log-batch} for params and metrics, {@code runs/update} for the final
 * status, and, where the run's artifact_uri is {@code mlflow-artifacts:} (a server that proxies
 * artifacts, MLflow's default since 2.0), {@code PUT /api/2.0/mlflow-artifacts/artifacts/...} for files.
 * MLflow's Java client (org.mlflow:mlflow-client) is not used: it is one 8.2 MiB shaded jar (protobuf,
 * Guava, Apache HttpClient) and hands artifacts to MLflow's Python CLI.
 *
 * <p>Training never waits for the server: calls go into a bounded queue that one daemon thread sends
 * (metrics in batches of up to 1000, as log-batch allows). A full queue drops rows (counted, said once at
 * the end; metrics.jsonl has them all). The first failed request prints one warning and turns the tracker
 * off; a failed upload turns off only uploads. {@link #finish} waits a bounded time.
 */
public final class MlflowTracker implements Tracker {
    static final int QUEUE_CAPACITY = 4096;
    static final int MAX_METRICS_PER_REQUEST = 1000;   // log-batch's documented limits
    static final int MAX_PARAMS_PER_REQUEST = 100;
    static final int MAX_KEY_LENGTH = 250;
    static final int MAX_PARAM_VALUE_LENGTH = 500;     // the smallest limit MLflow servers have had (6000 since 2.x)
    static final int MAX_FILES_PER_FOLDER = 1000;

    private sealed interface Item permits Params, Metrics, Artifact, Finish {}
    private record Params(Map<String, String> values) implements Item {}
    private record Metrics(long step, long timeMillis, Map<String, Double> values) implements Item {}
    private record Artifact(Path file, String folder) implements Item {}
    private record Finish(Status status) implements Item {}

    private final MlflowSettings settings;
    private final String experimentName;
    private final String runName;
    private final PrintStream console;
    private final Duration finishWait;
    private final HttpClient http;
    private final BlockingQueue<Item> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicBoolean finished = new AtomicBoolean();
    private final Thread worker;
    private volatile boolean failed;
    private boolean uploadsOff;
    private String runId;
    private String experimentId;
    private URI artifactBase;   // null: the run's artifacts are not on this server
    private String artifactUri;

    private MlflowTracker(MlflowSettings settings, String experimentName, String runName, PrintStream console, Duration finishWait) {
        this.settings = settings;
        this.experimentName = experimentName;
        this.runName = runName;
        this.console = console;
        this.finishWait = finishWait;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL).build();
        this.worker = new Thread(this::work, "mlflow-tracker");
        worker.setDaemon(true);
    }

    /** Starts a run in {@code experimentName} named {@code runName}; the requests go out on a thread of its own. */
    public static MlflowTracker start(MlflowSettings settings, String experimentName, String runName, PrintStream console,
                                      Duration finishWait) {
        MlflowTracker t = new MlflowTracker(settings, experimentName, runName, console, finishWait);
        t.worker.start();
        return t;
    }

    /** The run's id once created (tests). */
    String runId() { return runId; }

    @Override public void params(Map<String, String> params) { enqueue(new Params(new LinkedHashMap<>(params))); }

    @Override public void metrics(long step, long timeMillis, Map<String, Double> values) {
        if (!values.isEmpty()) enqueue(new Metrics(step, timeMillis, new LinkedHashMap<>(values)));
    }

    @Override public void artifact(Path file, String folder) { enqueue(new Artifact(file, folder)); }

    private void enqueue(Item item) {
        if (failed || finished.get()) return;
        if (!queue.offer(item)) dropped.incrementAndGet();
    }

    @Override public void finish(Status status) {
        if (!finished.compareAndSet(false, true)) return;
        long deadline = System.nanoTime() + finishWait.toNanos();
        try {
            // after a failure the worker only drains the queue, so the Finish gets in at once and ends it
            queue.offer(new Finish(status), finishWait.toMillis(), TimeUnit.MILLISECONDS);
            long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            worker.join(left);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            worker.interrupt();
            if (!failed) {
                console.println("warning: mlflow: not everything was sent to " + settings.uri() + " within "
                        + finishWait.toSeconds() + " s; the run may show as RUNNING there (the local logs are complete)");
            }
        }
        long n = dropped.get();
        if (n > 0 && !failed) {
            console.println("warning: mlflow: " + n + " updates were not sent (the server was slower than training);"
                    + " metrics.jsonl has every row");
        }
        console.flush();
    }

    // ---- the worker thread

    private void work() {
        try {
            try {
                open();
            } catch (IOException e) {
                fail("starting the run", e);
            }
            while (true) {
                Item item = queue.take();
                if (item instanceof Finish f) {
                    if (!failed) {
                        try {
                            update(f.status());
                        } catch (IOException e) {
                            fail("ending the run", e);
                        }
                    }
                    return;
                }
                if (failed) continue;
                try {
                    switch (item) {
                        case Params p -> logParams(p.values());
                        case Metrics m -> logMetrics(m);
                        case Artifact a -> upload(a);
                        case Finish f -> throw new AssertionError(f);
                    }
                } catch (IOException e) {
                    fail("sending " + what(item), e);
                }
            }
        } catch (InterruptedException e) {
            // finish gave up waiting
        }
    }

    private static String what(Item item) {
        return switch (item) {
            case Params p -> "params";
            case Metrics m -> "metrics";
            case Artifact a -> "a file";
            case Finish f -> "the status";
        };
    }

    private void fail(String doing, IOException e) {
        if (failed) return;
        failed = true;
        console.println("warning: mlflow: " + doing + " at " + settings.uri() + " failed (" + reason(e)
                + "); training goes on without MLflow, its metrics stay in output_dir/logs (TensorBoard, metrics.jsonl)");
        console.flush();
    }

    private static String reason(IOException e) {
        String m = e.getMessage();
        String kind = e.getClass().getSimpleName();
        if (e instanceof java.net.ConnectException) return "cannot connect" + (m == null || m.isBlank() ? "" : ": " + m);
        if (e instanceof java.net.http.HttpTimeoutException) return "timed out";
        return m == null || m.isBlank() ? kind : m;
    }

    private void open() throws IOException, InterruptedException {
        JsonNode found = call("GET", "experiments/get-by-name?experiment_name=" + URLEncoder.encode(experimentName, StandardCharsets.UTF_8),
                null, true);
        if (found != null) {
            experimentId = found.path("experiment").path("experiment_id").asText();
        } else {
            ObjectNode body = Json.MAPPER.createObjectNode().put("name", experimentName);
            JsonNode created = call("POST", "experiments/create", body, false);
            experimentId = created.path("experiment_id").asText();
        }
        if (experimentId.isEmpty()) throw new IOException("the server named no experiment_id for '" + experimentName + "'");
        ObjectNode run = Json.MAPPER.createObjectNode();
        run.put("experiment_id", experimentId);
        run.put("run_name", runName);
        run.put("start_time", System.currentTimeMillis());
        ArrayNode tags = run.putArray("tags");
        tags.addObject().put("key", "mlflow.runName").put("value", runName);   // servers older than run_name read the tag
        tags.addObject().put("key", "mlflow.source.name").put("value", "lora-scripts");
        JsonNode info = call("POST", "runs/create", run, false).path("run").path("info");
        runId = info.path("run_id").asText(info.path("run_uuid").asText());
        if (runId.isEmpty()) throw new IOException("the server's runs/create answer has no run_id");
        artifactUri = info.path("artifact_uri").asText("");
        artifactBase = artifactBase(settings.uri(), artifactUri);
    }

    /**
     * The HTTP folder of a run's artifacts: {@code mlflow-artifacts:/0/ID/artifacts} (or with a host,
     * {@code mlflow-artifacts://HOST:PORT/0/ID/artifacts}) is served under
     * {@code /api/2.0/mlflow-artifacts/artifacts/0/ID/artifacts}; any other store (s3:, file:, ...) is not.
     */
    static URI artifactBase(URI tracking, String artifactUri) {
        String prefix = "mlflow-artifacts:";
        if (!artifactUri.startsWith(prefix)) return null;
        String rest = artifactUri.substring(prefix.length());
        String authority = tracking.getRawAuthority();
        if (rest.startsWith("//")) {
            int slash = rest.indexOf('/', 2);
            authority = slash < 0 ? rest.substring(2) : rest.substring(2, slash);
            rest = slash < 0 ? "" : rest.substring(slash);
        }
        String path = rest.startsWith("/") ? rest.substring(1) : rest;
        String trackingPath = tracking.getRawPath() == null ? "" : tracking.getRawPath();
        return URI.create(tracking.getScheme() + "://" + authority + trackingPath + "/api/2.0/mlflow-artifacts/artifacts/" + path);
    }

    private void logParams(Map<String, String> values) throws IOException, InterruptedException {
        List<Map.Entry<String, String>> all = new ArrayList<>(values.entrySet());
        for (int i = 0; i < all.size(); i += MAX_PARAMS_PER_REQUEST) {
            ObjectNode body = Json.MAPPER.createObjectNode().put("run_id", runId);
            ArrayNode params = body.putArray("params");
            for (var e : all.subList(i, Math.min(all.size(), i + MAX_PARAMS_PER_REQUEST))) {
                params.addObject().put("key", cut(e.getKey(), MAX_KEY_LENGTH)).put("value", cut(e.getValue(), MAX_PARAM_VALUE_LENGTH));
            }
            call("POST", "runs/log-batch", body, false);
        }
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }

    /** {@code first} and the metric rows queued right behind it, up to one request's worth. */
    private void logMetrics(Metrics first) throws IOException, InterruptedException {
        ObjectNode body = Json.MAPPER.createObjectNode().put("run_id", runId);
        ArrayNode metrics = body.putArray("metrics");
        Metrics m = first;
        while (true) {
            for (var e : m.values().entrySet()) {
                metrics.addObject().put("key", cut(e.getKey(), MAX_KEY_LENGTH)).put("value", e.getValue())
                        .put("timestamp", m.timeMillis()).put("step", m.step());
            }
            if (!(queue.peek() instanceof Metrics next) || metrics.size() + next.values().size() > MAX_METRICS_PER_REQUEST) break;
            m = (Metrics) queue.poll();
        }
        call("POST", "runs/log-batch", body, false);
    }

    private void update(Status status) throws IOException, InterruptedException {
        ObjectNode body = Json.MAPPER.createObjectNode().put("run_id", runId).put("status", status.name())
                .put("end_time", System.currentTimeMillis());
        call("POST", "runs/update", body, false);
    }

    private void upload(Artifact a) throws InterruptedException {
        if (uploadsOff) return;
        if (artifactBase == null) {
            uploadsOff = true;
            console.println("note: mlflow: the run's artifacts go to " + (artifactUri.isEmpty() ? "(none named)" : artifactUri)
                    + ", which only MLflow's Python client writes; the LoRA and samples stay in output_dir"
                    + " (start the server with artifact serving, the default of mlflow server, to have them uploaded)");
            return;
        }
        try {
            if (Files.isDirectory(a.file())) {
                String top = join(a.folder(), a.file().getFileName().toString());
                List<Path> files;
                try (Stream<Path> s = Files.walk(a.file(), 8)) {
                    files = s.filter(Files::isRegularFile).limit(MAX_FILES_PER_FOLDER).toList();
                }
                for (Path f : files) {
                    Path rel = a.file().relativize(f);
                    String folder = rel.getParent() == null ? top : join(top, rel.getParent().toString().replace('\\', '/'));
                    put(f, folder);
                }
            } else if (Files.isRegularFile(a.file())) {
                put(a.file(), a.folder());
            }
        } catch (IOException e) {
            uploadsOff = true;
            console.println("warning: mlflow: uploading " + a.file().getFileName() + " to " + artifactBase + " failed (" + reason(e)
                    + "); no more files are uploaded, params and metrics still are");
            console.flush();
        }
    }

    private static String join(String folder, String name) {
        return folder.isEmpty() ? name : folder + "/" + name;
    }

    private void put(Path file, String folder) throws IOException, InterruptedException {
        StringBuilder path = new StringBuilder(artifactBase.toString());
        for (String seg : join(folder, file.getFileName().toString()).split("/")) {
            if (seg.isEmpty()) continue;
            path.append('/').append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(path.toString())).timeout(Duration.ofMinutes(10))
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(file));
        settings.authorization().ifPresent(v -> b.header("Authorization", v));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) throw new IOException("HTTP " + r.statusCode() + " " + brief(r.body()));
    }

    /**
     * One REST call to {@code /api/2.0/mlflow/<endpoint>}: the answer's JSON, or null for a 404
     * RESOURCE_DOES_NOT_EXIST when {@code absentOk}; any other failure is an IOException with the server's message.
     */
    private JsonNode call(String method, String endpoint, JsonNode body, boolean absentOk) throws IOException, InterruptedException {
        URI uri = URI.create(settings.uri() + "/api/2.0/mlflow/" + endpoint);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        settings.authorization().ifPresent(v -> b.header("Authorization", v));
        if (body == null) {
            b.GET();
        } else {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)));
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode answer;
        try {
            answer = r.body() == null || r.body().isBlank() ? Json.MAPPER.createObjectNode() : Json.parse(r.body());
        } catch (Json.Malformed e) {
            if (r.statusCode() / 100 == 2) throw new IOException(endpoint + ": the answer is not JSON");
            answer = Json.MAPPER.createObjectNode();
        }
        if (r.statusCode() / 100 == 2) return answer;
        String code = answer.path("error_code").asText("");
        if (absentOk && r.statusCode() == 404 && (code.isEmpty() || code.equals("RESOURCE_DOES_NOT_EXIST"))) return null;
        String message = answer.path("message").asText("");
        throw new IOException(endpoint + ": HTTP " + r.statusCode() + (code.isEmpty() ? "" : " " + code)
                + (message.isEmpty() ? (answer.isEmpty() ? " " + brief(r.body()) : "") : ": " + brief(message)));
    }

    private static String brief(String s) {
        if (s == null) return "";
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() <= 200 ? one : one.substring(0, 197) + "...";
    }
}
