package org.lorascripts.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.lorascripts.dist.DistEnv;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code ./lora train --nproc N}: starts N workers on this host, child JVMs of the same class path running
 * the same command line without {@code --nproc}, each with the variables torchrun would set (MASTER_ADDR
 * 127.0.0.1, a free MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK). Rank 0's output is this command's; the others
 * write to {@code <output_dir>/worker-logs/rank-R.txt}. When a worker fails (an exit status other than 0
 * or 130), the others are stopped and the command exits with that status and one line naming the rank. Ctrl-C
 * reaches the workers from the terminal (they share its process group): each finishes its step, rank 0
 * saves a checkpoint, all exit 130; this process only waits for them.
 */
final class WorkerLauncher {
    /** Set in each worker: the launcher's pid, so a worker whose launcher was killed stops too. */
    static final String LAUNCHER_PID = "LORA_LAUNCHER_PID";
    static final String LOG_DIR = "worker-logs";

    private WorkerLauncher() {}

    static int launch(int nproc, List<String> workerArgs, Path outputDir, PrintWriter out, PrintWriter err) throws IOException, InterruptedException {
        Path logs = outputDir.resolve(LOG_DIR);
        Files.createDirectories(logs);
        int port = freePort();
        List<Process> workers = new ArrayList<>();
        List<CompletableFuture<Void>> pumps = new ArrayList<>();
        // on a terminal rank 0 writes to it directly; otherwise (a log file, a test) its lines go through out/err
        boolean terminal = org.lorascripts.train.progress.TrainingProgress.stdoutIsTerminal();
        out.flush();
        // A Ctrl-C reaches the workers through the terminal's process group; this process only keeps waiting.
        SignalHandler previous = installIgnoreSigint();
        try {
            for (int r = 0; r < nproc; r++) {
                List<String> cmd = new ArrayList<>(javaCommand());
                cmd.addAll(workerArgs);
                ProcessBuilder pb = new ProcessBuilder(cmd);
                Map<String, String> env = pb.environment();
                env.putAll(new DistEnv("127.0.0.1", port, nproc, r, r).toEnvironment());
                env.put(LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
                if (r == 0 && terminal) {
                    pb.inheritIO();  // the progress bar redraws in the terminal as in a one-process run
                } else if (r == 0) {
                    pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
                } else {
                    Path log = logs.resolve("rank-" + r + ".txt");
                    pb.redirectErrorStream(true).redirectOutput(log.toFile());
                }
                Process p = pb.start();
                workers.add(p);
                if (r == 0 && !terminal) {
                    pumps.add(pump(p.getInputStream(), out));
                    pumps.add(pump(p.getErrorStream(), err));
                }
            }
            return waitAll(workers, logs, err, pumps);
        } finally {
            for (Process p : workers) if (p.isAlive()) p.destroyForcibly();
            restoreSigint(previous);
        }
    }

    /** Waits for all workers; on the first failure stops the others. Returns the command's exit status. */
    private static int waitAll(List<Process> workers, Path logs, PrintWriter err, List<CompletableFuture<Void>> pumps) throws InterruptedException {
        int n = workers.size();
        boolean[] done = new boolean[n];
        int remaining = n;
        int interrupted = 0;
        while (remaining > 0) {
            for (int r = 0; r < n; r++) {
                Process p = workers.get(r);
                if (done[r] || p.isAlive()) continue;
                done[r] = true;
                remaining--;
                int code = p.exitValue();
                if (code == 0) continue;
                if (code == ErrorReporter.INTERRUPTED) { interrupted++; continue; }
                // a failed worker: the others would wait for it until the collective timeout; stop them now
                for (Process q : workers) if (q.isAlive()) q.destroy();
                for (Process q : workers) if (!q.waitFor(15, TimeUnit.SECONDS)) q.destroyForcibly();
                drain(pumps);
                err.println("error: rank " + r + " of " + n + " (pid " + p.pid() + ") " + describeExit(code) + "; the other ranks were stopped"
                        + (r == 0 ? "" : "; its output: " + logs.resolve("rank-" + r + ".txt")) + lastError(r, logs));
                err.flush();
                return code == ErrorReporter.USER_ERROR ? ErrorReporter.USER_ERROR : ErrorReporter.UNEXPECTED;
            }
            if (remaining > 0) Thread.sleep(100);
        }
        drain(pumps);
        return interrupted > 0 ? ErrorReporter.INTERRUPTED : 0;
    }

    private static String describeExit(int code) {
        if (code > 128 && code < 160) return "was killed by signal " + (code - 128) + " (exit status " + code + ")";
        return "exited with status " + code;
    }

    /** The last "error:" line of a worker's log, quoted (rank 0's is already on this command's output). */
    private static String lastError(int rank, Path logs) {
        if (rank == 0) return "";
        try {
            List<String> lines = Files.readAllLines(logs.resolve("rank-" + rank + ".txt"), StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith("error: ")) return " (" + lines.get(i) + ")";
            }
        } catch (IOException ignored) {
            // the log is named above
        }
        return "";
    }

    private static CompletableFuture<Void> pump(InputStream in, PrintWriter to) {
        return CompletableFuture.runAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    to.println(line);
                    to.flush();
                }
            } catch (IOException ignored) {
                // the worker is gone; its exit status says how
            }
        }, r -> { Thread t = new Thread(r, "rank-0-output"); t.setDaemon(true); t.start(); });
    }

    private static void drain(List<CompletableFuture<Void>> pumps) {
        for (CompletableFuture<Void> f : pumps) {
            try {
                f.get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // output after the worker exited is best effort
            }
        }
    }

    /** This JVM's java, options and class path, then the CLI's main class. */
    static List<String> javaCommand() {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // options that would make every worker wait for a debugger or write over one file
            if (a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp") || a.startsWith("-javaagent")) continue;
            cmd.add(a);
        }
        if (cmd.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        return cmd;
    }

    /** A port free now on the loopback (rank 0's store binds it a moment later, as torchrun does). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * In a worker started by this launcher: stops the worker when the launcher is gone (killed), so no worker
     * is left training on its own.
     */
    static void watchLauncher(Map<String, String> env, PrintWriter err) {
        String pid = env.get(LAUNCHER_PID);
        if (pid == null) return;
        ProcessHandle launcher;
        try {
            launcher = ProcessHandle.of(Long.parseLong(pid.strip())).orElse(null);
        } catch (NumberFormatException e) {
            return;
        }
        if (launcher == null) return;
        Thread t = new Thread(() -> {
            launcher.onExit().join();
            err.println("error: the launcher (pid " + pid + ") is gone; stopping this worker");
            err.flush();
            Runtime.getRuntime().halt(ErrorReporter.UNEXPECTED);
        }, "launcher-watch");
        t.setDaemon(true);
        t.start();
    }

    private static SignalHandler installIgnoreSigint() {
        try {
            return Signal.handle(new Signal("INT"), sig -> { });
        } catch (IllegalArgumentException e) {
            return null;  // no SIGINT here (the JVM was started with -Xrs)
        }
    }

    private static void restoreSigint(SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal("INT"), previous);
    }
}
