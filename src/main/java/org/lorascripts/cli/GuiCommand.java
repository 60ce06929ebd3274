package org.lorascripts.cli;

import org.lorascripts.config.ConfigException;
import org.lorascripts.gui.Access;
import org.lorascripts.gui.GuiServer;
import org.lorascripts.gui.Roots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code ./lora gui}: the local web app (org.lorascripts.gui); runs until Ctrl-C. */
@Command(name = "gui", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Start the local web app: configure, start and watch training in a browser.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora gui",
            "      serve http://127.0.0.1:28000/ (this machine only)",
            "  ./lora gui --port 28001 --root /data/datasets",
            "      another port; also allow paths under /data/datasets",
            "  ./lora gui --listen 0.0.0.0",
            "      reachable from other machines: every request needs the token printed at start"})
public final class GuiCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--port", paramLabel = "N", description = "Port to listen on (default: ${DEFAULT-VALUE}).")
    int port = 28000;

    @Option(names = "--listen", paramLabel = "ADDR", description = "Address to listen on (default: 127.0.0.1). Any other than loopback requires the printed access token on every request.")
    String listen = "127.0.0.1";

    @Option(names = "--root", paramLabel = "DIR", description = "Another folder the app may read and write, besides the working folder; repeatable.")
    List<Path> roots = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            if (port < 0 || port > 65535) throw new ConfigException("--port must be in 0..65535, got " + port);
            Roots allowed;
            try {
                allowed = new Roots(Path.of("").toAbsolutePath(), roots);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage());
            }
            boolean loopback = Access.isLoopback(listen);
            Access access = new Access(Access.newToken(), loopback);
            GuiServer server = new GuiServer(allowed, access, org.lorascripts.gui.Runs.thisCli(), GuiServer.presetDirsFor(allowed.workDir()));
            int bound;
            try {
                bound = server.start(listen, port);
            } catch (RuntimeException e) {
                throw new ConfigException("cannot listen on " + listen + ":" + port + " (" + rootCause(e)
                        + "); is another ./lora gui running? choose another with --port N");
            }
            String host = listen.contains(":") ? "[" + listen + "]" : listen;
            out.println("lora gui: open http://" + host + ":" + bound + "/" + (loopback ? "" : "?token=" + access.token()));
            if (!loopback) out.println("lora gui: listening on " + listen + "; the token above is required on every request (printed only here)");
            out.println("lora gui: allowed folders: " + String.join(", ", allowed.roots().stream().map(Path::toString).toList()));
            out.println("lora gui: press Ctrl-C to stop");
            out.flush();
            CountDownLatch done = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                done.countDown();
            }));
            done.await();
            return 0;
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private static String rootCause(Throwable e) {
        while (e.getCause() != null) e = e.getCause();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
