package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Training runs started from the app. Each is {@code ./lora train --config FILE} in a child process (the
 * same trainer as the CLI; a crash there never reaches the server), its console captured to
 * {@code console.log} beside the config in {@code .lora-gui/runs/ID/} of the working folder. Progress is
 * read from what the trainer writes anyway: {@code OUTPUT_DIR/logs/metrics.jsonl} (step, train/loss,
 * train/lr, perf/steps_per_sec), the plan's "total steps" line on the console, and sample images in
 * {@code OUTPUT_DIR/samples/}. Stop sends SIGINT, which the trainer answers as Ctrl-C: it saves a
 * checkpoint and exits with 130; Resume runs the same config again with {@code --resume latest}.
 */
public final class Runs {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TOTAL_STEPS = Pattern.compile("^\\s*total steps\\s+(\\d+)", Pattern.MULTILINE);
    private static final int TAIL_BYTES = 16 * 1024;
    private static final boolean DEFAULT_SIGINT = envResetsSignals();

    /** How to start the CLI: the java executable and its options up to (not including) the main class's arguments. */
    private final List<String> cli;
    private final Path home;
    private final Map<String, Run> runs = new ConcurrentHashMap<>();

    Runs(List<String> cli, Path workDir) {
        this.cli = List.copyOf(cli);
        this.home = workDir.resolve(".lora-gui").resolve("runs");
    }

    private static boolean envResetsSignals() {
        try {
            return new ProcessBuilder("env", "--default-signal=INT", "true").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The command that runs this JVM's CLI: same java, same class path. */
    public static List<String> thisCli() {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", System.getProperty("java.class.path"),
                "org.lorascripts.cli.Main");
    }

    final class Run {
        final String id;
        final Path dir;
        final Path config;
        final Path outputDir;
        volatile Process process;
        volatile String state = "running";
        volatile Integer exitCode;

        Run(String id, Path dir, Path config, Path outputDir) {
            this.id = id;
            this.dir = dir;
            this.config = config;
            this.outputDir = outputDir;
        }

        Path console() { return dir.resolve("console.log"); }

        synchronized void launch(boolean resume) throws IOException {
            if (process != null && process.isAlive()) throw new IllegalStateException("run " + id + " is still running");
            List<String> cmd = new ArrayList<>();
            // a server started in the background inherits SIGINT ignored, and the JVM then never sees Stop's
            // SIGINT; coreutils' env puts the default disposition back for the trainer
            if (DEFAULT_SIGINT) cmd.addAll(List.of("env", "--default-signal=INT"));
            cmd.addAll(cli);
            cmd.addAll(List.of("train", "--config", config.toString()));
            if (resume) cmd.addAll(List.of("--resume", "latest"));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(console().toFile()));
            state = "running";
            exitCode = null;
            Process p = pb.start();
            process = p;
            p.onExit().thenAccept(done -> {
                exitCode = done.exitValue();
                state = switch (done.exitValue()) {
                    case 0 -> "finished";
                    case 130 -> "stopped";
                    default -> "failed";
                };
                try {
                    Files.writeString(dir.resolve("state"), state + " " + exitCode + "\n");  // for the list after a restart
                } catch (IOException ignored) {
                    // the list then shows the run as interrupted
                }
            });
        }

        /** Asks the trainer to stop as Ctrl-C does (checkpoint, exit 130). */
        void stop() throws IOException, InterruptedException {
            Process p = process;
            if (p == null || !p.isAlive()) return;
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).inheritIO().start().waitFor();
        }

        ObjectNode summary() {
            ObjectNode o = JSON.createObjectNode();
            o.put("id", id);
            o.put("state", state);
            if (exitCode != null) o.put("exitCode", exitCode);
            o.put("config", config.toString());
            o.put("outputDir", outputDir == null ? null : outputDir.toString());
            return o;
        }

        /** Summary plus progress: last step, loss, lr, total steps, ETA, the loss curve, samples, console tail. */
        ObjectNode progress() {
            ObjectNode o = summary();
            String tail = tail(console());
            o.put("log", tail);
            String head = head(console());
            Matcher m = TOTAL_STEPS.matcher(head);
            long total = m.find() ? Long.parseLong(m.group(1)) : 0;
            if (total > 0) o.put("totalSteps", total);
            ArrayNode curve = o.putArray("loss");
            ArrayNode lrCurve = o.putArray("lrCurve");
            ArrayNode samples = o.putArray("samples");
            if (outputDir != null) {
                JsonNode last = null;
                for (JsonNode row : metrics(outputDir.resolve("logs").resolve("metrics.jsonl"))) {
                    if (row.has("train/loss")) {
                        curve.addArray().add(row.get("step").asLong()).add(row.get("train/loss").asDouble());
                        if (row.has("train/lr")) lrCurve.addArray().add(row.get("step").asLong()).add(row.get("train/lr").asDouble());
                        last = row;
                    }
                }
                if (last != null) {
                    long step = last.get("step").asLong();
                    o.put("step", step);
                    o.put("lossValue", last.get("train/loss").asDouble());
                    if (last.has("train/lr")) o.put("lr", last.get("train/lr").asDouble());
                    double rate = last.path("perf/steps_per_sec").asDouble(0);
                    if (total > 0 && rate > 0 && "running".equals(state)) o.put("etaSeconds", Math.max(0, (total - step) / rate));
                }
                Path sampleDir = outputDir.resolve("samples");
                if (Files.isDirectory(sampleDir)) {
                    try (Stream<Path> files = Files.list(sampleDir)) {
                        files.filter(f -> f.getFileName().toString().endsWith(".png")).map(f -> f.getFileName().toString())
                                .sorted().forEach(samples::add);
                    } catch (IOException ignored) {
                        // the trainer may be writing; the next poll sees them
                    }
                }
            }
            return o;
        }
    }

    /**
     * The runs of earlier sessions in this working folder: their state as written when they ended, or
     * "stopped" when the app ended first (it stops its runs on the way out).
     */
    void loadPrevious() {
        if (!Files.isDirectory(home)) return;
        try (Stream<Path> dirs = Files.list(home)) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                Path config = dir.resolve("config.yaml");
                if (!Files.isRegularFile(config)) continue;
                String out;
                try {
                    out = FormYaml.fromYaml(Files.readString(config), dir).get("output_dir");
                } catch (RuntimeException | IOException unreadable) {
                    continue;
                }
                Run run = new Run(dir.getFileName().toString(), dir, config, out == null ? null : Path.of(out));
                Path state = dir.resolve("state");
                String[] saved = Files.isRegularFile(state) ? Files.readString(state).strip().split(" ") : new String[] {"stopped"};
                run.state = saved[0];
                if (saved.length > 1 && saved[1].matches("-?\\d+")) run.exitCode = Integer.parseInt(saved[1]);
                runs.put(run.id, run);
            }
        } catch (IOException ignored) {
            // an unreadable history only hides old runs
        }
    }

    /** Starts {@code yaml} (already validated) as a new run; {@code outputDir} is where its logs will appear. */
    Run start(String yaml, String name, Path outputDir) throws IOException {
        String id = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"))
                + "-" + name.replaceAll("[^A-Za-z0-9_-]", "_");
        Path dir = home.resolve(id);
        Files.createDirectories(dir);
        Path config = dir.resolve("config.yaml");
        Path tmp = dir.resolve("config.yaml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, config, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Run run = new Run(id, dir, config, outputDir);
        runs.put(id, run);
        run.launch(false);
        return run;
    }

    Run get(String id) {
        Run r = runs.get(id);
        if (r == null) throw new IllegalArgumentException("no run " + id);
        return r;
    }

    List<Run> all() {
        return runs.values().stream().sorted((a, b) -> b.id.compareTo(a.id)).toList();
    }

    /** Stops every live run (the server is shutting down). */
    void stopAll() {
        for (Run r : runs.values()) {
            try {
                r.stop();
            } catch (IOException | InterruptedException ignored) {
                // best effort on shutdown
            }
        }
    }

    private static List<JsonNode> metrics(Path jsonl) {
        if (!Files.isRegularFile(jsonl)) return List.of();
        List<JsonNode> rows = new ArrayList<>();
        try (Stream<String> lines = Files.lines(jsonl)) {
            lines.forEach(line -> {
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n != null && n.isObject() && n.has("step")) rows.add(n);
                } catch (IOException partial) {
                    // the last line may be half written
                }
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            return rows;
        }
        return rows;
    }

    static String tail(Path file) {
        return read(file, true);
    }

    static String head(Path file) {
        return read(file, false);
    }

    private static String read(Path file, boolean tail) {
        if (!Files.isRegularFile(file)) return "";
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long len = f.length();
            int n = (int) Math.min(len, TAIL_BYTES);
            byte[] b = new byte[n];
            f.seek(tail ? len - n : 0);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
