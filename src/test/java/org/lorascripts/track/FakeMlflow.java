package org.lorascripts.track;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.lorascripts.io.Json;

/**
 * A local MLflow tracking server for tests: the REST endpoints of mlflow.org/docs/latest/rest-api.html
 * that a client logging a run calls, with MLflow's answers and errors (404 RESOURCE_DOES_NOT_EXIST for an
 * unknown experiment name, 400 INVALID_PARAMETER_VALUE past log-batch's limits or for a changed param), and
 * the artifact proxy's PUT. It records every run, the Authorization headers, and the request count.
 */
public final class FakeMlflow implements AutoCloseable {
    public record Metric(String key, double value, long step, long timestamp) {}

    public static final class Run {
        public final String id;
        public final String experimentId;
        public final String name;
        public final Map<String, String> tags = new LinkedHashMap<>();
        public final Map<String, String> params = Collections.synchronizedMap(new LinkedHashMap<>());
        public final List<Metric> metrics = Collections.synchronizedList(new ArrayList<>());
        public final Map<String, byte[]> artifacts = Collections.synchronizedMap(new LinkedHashMap<>());
        public volatile String status = "RUNNING";
        public volatile long endTime;

        Run(String id, String experimentId, String name) {
            this.id = id;
            this.experimentId = experimentId;
            this.name = name;
        }
    }

    private final HttpServer server;
    /** Experiment name to id; "Default" is 0, as on a fresh MLflow server. */
    public final Map<String, String> experiments = Collections.synchronizedMap(new LinkedHashMap<>(Map.of("Default", "0")));
    public final Map<String, Run> runs = Collections.synchronizedMap(new LinkedHashMap<>());
    public final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
    public final List<String> endpoints = Collections.synchronizedList(new ArrayList<>());
    /** The artifact_uri runs get: mlflow-artifacts (served here) unless a test sets another store. */
    public volatile String artifactStore = "mlflow-artifacts:";
    private final AtomicInteger ids = new AtomicInteger(1);

    public FakeMlflow() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/api/2.0/mlflow/", this::rest);
        server.createContext("/api/2.0/mlflow-artifacts/artifacts/", this::artifact);
        server.start();
    }

    public URI uri() { return URI.create("http://127.0.0.1:" + server.getAddress().getPort()); }

    /** The environment a client of this server reads. */
    public Map<String, String> env() { return Map.of("MLFLOW_TRACKING_URI", uri().toString()); }

    /** The only run; fails when there is not exactly one. */
    public Run onlyRun() {
        synchronized (runs) {
            if (runs.size() != 1) throw new AssertionError("expected one run, got " + runs.keySet());
            return runs.values().iterator().next();
        }
    }

    private void rest(HttpExchange ex) throws IOException {
        try (ex) {
            String endpoint = ex.getRequestURI().getPath().substring("/api/2.0/mlflow/".length());
            endpoints.add(ex.getRequestMethod() + " " + endpoint);
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth != null) authorizations.add(auth);
            byte[] in = ex.getRequestBody().readAllBytes();
            JsonNode body = in.length == 0 ? Json.MAPPER.createObjectNode() : Json.parse(in);
            ObjectNode out = Json.MAPPER.createObjectNode();
            switch (ex.getRequestMethod() + " " + endpoint) {
                case "GET experiments/get-by-name" -> {
                    String name = query(ex.getRequestURI()).get("experiment_name");
                    String id = name == null ? null : experiments.get(name);
                    if (id == null) {
                        error(ex, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
                        return;
                    }
                    out.putObject("experiment").put("experiment_id", id).put("name", name).put("lifecycle_stage", "active");
                }
                case "POST experiments/create" -> {
                    String name = body.path("name").asText("");
                    if (name.isEmpty()) {
                        error(ex, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'");
                        return;
                    }
                    if (experiments.containsKey(name)) {
                        error(ex, 400, "RESOURCE_ALREADY_EXISTS", "Experiment '" + name + "' already exists.");
                        return;
                    }
                    String id = Integer.toString(100 + ids.getAndIncrement());
                    experiments.put(name, id);
                    out.put("experiment_id", id);
                }
                case "POST runs/create" -> {
                    String exp = body.path("experiment_id").asText("");
                    if (!experiments.containsValue(exp)) {
                        error(ex, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + exp + " exists");
                        return;
                    }
                    String id = "run" + ids.getAndIncrement();
                    Run run = new Run(id, exp, body.path("run_name").asText(""));
                    for (JsonNode t : body.path("tags")) run.tags.put(t.path("key").asText(), t.path("value").asText());
                    runs.put(id, run);
                    String artifactUri = artifactStore.equals("mlflow-artifacts:")
                            ? "mlflow-artifacts:/" + exp + "/" + id + "/artifacts" : artifactStore + "/" + id + "/artifacts";
                    ObjectNode info = out.putObject("run").putObject("info");
                    info.put("run_id", id).put("run_uuid", id).put("experiment_id", exp).put("run_name", run.name)
                            .put("status", "RUNNING").put("artifact_uri", artifactUri).put("lifecycle_stage", "active");
                }
                case "POST runs/log-batch" -> {
                    Run run = runs.get(body.path("run_id").asText(""));
                    if (run == null) {
                        error(ex, 404, "RESOURCE_DOES_NOT_EXIST", "Run '" + body.path("run_id").asText() + "' not found");
                        return;
                    }
                    int metrics = body.path("metrics").size();
                    int params = body.path("params").size();
                    if (metrics > 1000 || params > 100 || metrics + params + body.path("tags").size() > 1000) {
                        error(ex, 400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics"
                                + " and 100 params, got " + metrics + " and " + params);
                        return;
                    }
                    for (JsonNode p : body.path("params")) {
                        String key = p.path("key").asText();
                        String value = p.path("value").asText();
                        if (key.length() > 250 || value.length() > 6000) {
                            error(ex, 400, "INVALID_PARAMETER_VALUE", "Param '" + key + "' is too long");
                            return;
                        }
                        String old = run.params.putIfAbsent(key, value);
                        if (old != null && !old.equals(value)) {
                            error(ex, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='" + key + "'");
                            return;
                        }
                    }
                    for (JsonNode m : body.path("metrics")) {
                        if (!m.path("value").isNumber() || !m.has("timestamp")) {
                            error(ex, 400, "INVALID_PARAMETER_VALUE", "Invalid metric " + m);
                            return;
                        }
                        run.metrics.add(new Metric(m.path("key").asText(), m.path("value").asDouble(), m.path("step").asLong(0),
                                m.path("timestamp").asLong()));
                    }
                }
                case "POST runs/update" -> {
                    Run run = runs.get(body.path("run_id").asText(""));
                    if (run == null) {
                        error(ex, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
                        return;
                    }
                    String status = body.path("status").asText("");
                    if (!List.of("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED").contains(status)) {
                        error(ex, 400, "INVALID_PARAMETER_VALUE", "Invalid status " + status);
                        return;
                    }
                    run.status = status;
                    run.endTime = body.path("end_time").asLong(0);
                    out.putObject("run_info").put("run_id", run.id).put("status", status);
                }
                default -> {
                    error(ex, 404, "ENDPOINT_NOT_FOUND", "No endpoint " + endpoint);
                    return;
                }
            }
            send(ex, 200, Json.write(out));
        }
    }

    private void artifact(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath().substring("/api/2.0/mlflow-artifacts/artifacts/".length());
            endpoints.add(ex.getRequestMethod() + " artifacts");
            if (!ex.getRequestMethod().equals("PUT")) {
                error(ex, 405, "BAD_REQUEST", "method");
                return;
            }
            String[] parts = URLDecoder.decode(path, StandardCharsets.UTF_8).split("/", 4);   // EXP/RUN/artifacts/REL
            Run run = parts.length == 4 ? runs.get(parts[1]) : null;
            if (run == null || !parts[2].equals("artifacts")) {
                error(ex, 404, "RESOURCE_DOES_NOT_EXIST", "no run for " + path);
                return;
            }
            run.artifacts.put(parts[3], ex.getRequestBody().readAllBytes());
            send(ex, 200, "{}");
        }
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> q = new LinkedHashMap<>();
        String raw = uri.getRawQuery();
        if (raw == null) return q;
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) q.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return q;
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        send(ex, status, Json.write(Json.MAPPER.createObjectNode().put("error_code", code).put("message", message)));
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override public void close() { server.stop(0); }
}
