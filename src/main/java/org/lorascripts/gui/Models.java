package org.lorascripts.gui;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Models page: {@code ./lora info FILE}, {@code ./lora sample} and {@code ./lora generate} of the CLI, each in a child process with
 * a fixed argument list built here (every value in one {@code --option=VALUE} word, so no value can become an
 * option; paths checked by {@link Roots} before), the console captured and bounded, a time limit.
 */
final class Models {
    private static final int MAX_OUTPUT = 64 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> cli;
    private final Path sampleHome;

    Models(List<String> cli, Path workDir) {
        this.cli = List.copyOf(cli);
        this.sampleHome = workDir.resolve(".lora-gui").resolve("samples");
    }

    record Result(int exitCode, String output) {}

    Result run(List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(cli);
        cmd.addAll(args);
        Path log = Files.createTempFile("lora-gui-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                return new Result(-1, head(log) + "\nerror: stopped after " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), head(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The first {@link #MAX_OUTPUT} bytes of the console (where info puts the summary), marked when cut. */
    private static String head(Path log) throws IOException {
        try (var in = Files.newInputStream(log)) {
            byte[] b = in.readNBytes(MAX_OUTPUT);
            String text = new String(b, java.nio.charset.StandardCharsets.UTF_8);
            return Files.size(log) > MAX_OUTPUT ? text + "\n... (cut at " + MAX_OUTPUT / 1024 + " KiB)" : text;
        }
    }

    ObjectNode info(Path file) throws IOException, InterruptedException {
        Result r = run(List.of("info", file.toString()), 120);
        return JSON.createObjectNode().put("exitCode", r.exitCode()).put("output", r.output());
    }

    /** One image from the base model with an optional LoRA, into .lora-gui/samples/ID/; one sampling at a time. */
    synchronized ObjectNode sample(String base, Path lora, double weight, String prompt, long seed, int steps) throws IOException, InterruptedException {
        if (prompt == null || prompt.isBlank() || prompt.length() > 2000) throw new IllegalArgumentException("give a prompt of at most 2000 characters");
        if (steps < 1 || steps > 150) throw new IllegalArgumentException("steps must be in 1..150, got " + steps);
        if (!Double.isFinite(weight) || Math.abs(weight) > 10) throw new IllegalArgumentException("the LoRA weight must be a number in [-10, 10]");
        String id = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        Path dir = sampleHome.resolve(id);
        Files.createDirectories(dir);
        List<String> args = new ArrayList<>(List.of("sample", "--base=" + base, "--prompt=" + prompt, "--seed=" + seed,
                "--steps=" + steps, "--output=" + dir));
        if (lora != null) args.add("--lora=" + lora + ":" + weight);
        Result r = run(args, 600);
        ObjectNode o = JSON.createObjectNode().put("id", id).put("exitCode", r.exitCode()).put("output", r.output());
        var images = o.putArray("images");
        try (Stream<Path> files = Files.list(dir)) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".png")).sorted().forEach(images::add);
        }
        return o;
    }

    /**
     * The text playground: {@code ./lora generate} on one prompt with the base model alone, then (when an
     * adapter folder is given) again with it attached, so the page shows both completions; one at a time.
     */
    synchronized ObjectNode generate(String base, Path adapter, String prompt, int maxNewTokens, long seed, double temperature)
            throws IOException, InterruptedException {
        if (prompt == null || prompt.isBlank() || prompt.length() > 4000) throw new IllegalArgumentException("give a prompt of at most 4000 characters");
        if (maxNewTokens < 1 || maxNewTokens > 2048) throw new IllegalArgumentException("max new tokens must be in 1..2048, got " + maxNewTokens);
        if (!Double.isFinite(temperature) || temperature < 0 || temperature > 5) throw new IllegalArgumentException("the temperature must be a number in [0, 5]");
        List<String> args = new ArrayList<>(List.of("generate", "--base=" + base, "--prompt=" + prompt,
                "--max-new-tokens=" + maxNewTokens, "--seed=" + seed, "--temperature=" + temperature));
        ObjectNode o = JSON.createObjectNode();
        Result b = run(args, 600);
        o.putObject("base").put("exitCode", b.exitCode()).put("output", b.output());
        if (adapter != null) {
            args.add("--lora=" + adapter);
            Result l = run(args, 600);
            o.putObject("lora").put("exitCode", l.exitCode()).put("output", l.output());
        }
        return o;
    }

    /** {@code ./lora train --config FILE --dry-run} on the form's YAML: the data scan and plan, or every problem. */
    ObjectNode dryRun(String yaml, Path workDir) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(workDir.resolve(".lora-gui").resolve("dry-run"));
        Path file = dir.resolve("gui.yaml");
        Path tmp = Files.createTempFile(dir, ".gui-", ".yaml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Result r = run(List.of("train", "--config=" + file, "--dry-run"), 300);
        return JSON.createObjectNode().put("exitCode", r.exitCode()).put("output", r.output());
    }

    /**
     * One of the CLI's caption tools on the captions of {@code folder} (metadata.csv, metadata.jsonl or .txt, as it finds them): add-trigger WORD, replace OLD NEW,
     * remove TAG..., dedupe. The tags follow "--", so none can be read as an option.
     */
    ObjectNode captions(Path folder, String op, List<String> args) throws IOException, InterruptedException {
        int[] arity = switch (op == null ? "" : op) {
            case "add-trigger" -> new int[] {1, 1};
            case "replace" -> new int[] {2, 2};
            case "remove" -> new int[] {1, 50};
            case "dedupe" -> new int[] {0, 0};
            default -> throw new IllegalArgumentException("unknown caption tool '" + op + "' (add-trigger, replace, remove, dedupe)");
        };
        if (args.size() < arity[0] || args.size() > arity[1]) throw new IllegalArgumentException(op + " takes " + arity[0] + ".." + arity[1] + " tags");
        for (String a : args) {
            if (a.isBlank() || a.length() > 200 || a.indexOf('\n') >= 0) throw new IllegalArgumentException("a tag must be 1..200 characters on one line");
        }
        List<String> cmd = new ArrayList<>(List.of("captions", op, "--input=" + folder, "--"));
        cmd.addAll(args);
        Result r = run(cmd, 120);
        return JSON.createObjectNode().put("exitCode", r.exitCode()).put("output", r.output());
    }

    /**
     * A {@code ./lora label} run in the background; its console goes to a file and its progress to
     * {@code progress.jsonl} ({@code --progress-file}), which the page reads by SSE ({@link #labelStatus}).
     */
    record LabelJob(String id, Process process, Path console, Path progress) {}

    private final java.util.Map<String, LabelJob> labelJobs = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Starts the labeler on {@code folder} (into its metadata.csv when it has one, else .txt captions):
     * backend wd14 or blip, the wd14 threshold, an optional trigger word, {@code model} empty (the standard
     * model), "none" (the trigger alone) or a folder already checked by {@link Roots}. One labeling at a time.
     */
    synchronized ObjectNode startLabel(Path folder, String backend, double threshold, String trigger, String model, boolean overwrite)
            throws IOException {
        // the captions go where the trainer and the Dataset page read them: the folder's metadata.csv, or .txt files
        String format = switch (org.lorascripts.data.CaptionStore.detect(folder)) {
            case CSV -> "csv";
            case TXT -> "txt";
            case JSONL -> throw new IllegalArgumentException("the captions of " + folder + " are in metadata.jsonl and the labeler writes"
                    + " metadata.csv or .txt captions: convert them first (./lora captions convert --input DIR --to csv)");
        };
        for (LabelJob j : labelJobs.values()) {
            if (j.process().isAlive()) throw new IllegalStateException("a labeling is already running (" + j.id() + ")");
        }
        if (!"wd14".equals(backend) && !"blip".equals(backend)) throw new IllegalArgumentException("unknown backend '" + backend + "': use wd14 or blip");
        if (!Double.isFinite(threshold) || threshold < 0 || threshold > 1) throw new IllegalArgumentException("the threshold must be a number in [0, 1]");
        String word = trigger == null ? "" : trigger.strip();
        if (word.length() > 200 || word.indexOf('\n') >= 0) throw new IllegalArgumentException("the trigger must be at most 200 characters on one line");
        List<String> cmd = new ArrayList<>(cli);
        cmd.addAll(List.of("label", "--input=" + folder, "--format=" + format, "--backend=" + backend, "--threshold=" + threshold));
        if (!word.isEmpty()) cmd.add("--trigger=" + word);
        if (model != null && !model.isEmpty()) cmd.add("--model=" + model);
        if (overwrite) cmd.add("--overwrite");
        String id = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        Path dir = Files.createDirectories(sampleHome.resolveSibling("label").resolve(id));
        Path console = dir.resolve("console.log");
        Path progress = dir.resolve("progress.jsonl");
        cmd.add("--progress-file=" + progress);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(console.toFile()).start();
        labelJobs.put(id, new LabelJob(id, p, console, progress));
        return labelStatus(id);
    }

    /**
     * The labeling's state (running, finished, failed), exit code, progress (images done of total, the file
     * being labeled, unreadable images: the last line of its progress file), the warning and error lines of
     * its console and the console's tail.
     */
    ObjectNode labelStatus(String id) {
        LabelJob j = labelJobs.get(id);
        if (j == null) throw new IllegalArgumentException("no labeling " + id);
        ObjectNode o = JSON.createObjectNode().put("id", id);
        boolean alive = j.process().isAlive();
        o.put("state", alive ? "running" : j.process().exitValue() == 0 ? "finished" : "failed");
        if (!alive) o.put("exitCode", j.process().exitValue());
        String last = lastLine(j.progress());
        if (!last.isEmpty()) {
            try {
                var p = JSON.readTree(last);
                o.put("done", p.path("done").asInt()).put("total", p.path("total").asInt())
                        .put("file", p.path("file").asText("")).put("unreadable", p.path("unreadable").asInt());
            } catch (IOException e) {
                // a line being written: the next update reads it whole
            }
        }
        String log = Runs.tail(j.console());
        var errors = o.putArray("errors");
        log.lines().filter(l -> l.startsWith("warning: ") || l.startsWith("error: ")).forEach(errors::add);
        o.put("log", log);
        return o;
    }

    /** The last complete line of a small JSON-lines file (its last 4 KiB), or "". */
    private static String lastLine(Path file) {
        if (!Files.isRegularFile(file)) return "";
        try (var f = new java.io.RandomAccessFile(file.toFile(), "r")) {
            long len = f.length();
            int n = (int) Math.min(len, 4096);
            byte[] b = new byte[n];
            f.seek(len - n);
            f.readFully(b);
            String text = new String(b, java.nio.charset.StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            if (end < 0) return "";
            int start = text.lastIndexOf('\n', end - 1) + 1;
            return text.substring(start, end);
        } catch (IOException e) {
            return "";
        }
    }

    /** Ends a labeling still running (the server is shutting down). */
    void stopLabels() {
        labelJobs.values().forEach(j -> j.process().destroy());
    }

    Path sampleFile(String id, String name) {
        if (!id.matches("[0-9-]+") || !name.matches("[A-Za-z0-9._-]+\\.png")) throw new IllegalArgumentException("no such sample");
        return sampleHome.resolve(id).resolve(name);
    }
}
