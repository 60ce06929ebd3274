package org.lorascripts.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Entry point of {@code ./lora}. Only parses arguments and dispatches to subcommands. */
@Command(name = "lora", mixinStandardHelpOptions = true, version = "lora-scripts 0.1.0",
        description = "LoRA fine-tuning for Stable Diffusion and LLaMA-family models.",
        subcommands = {CommandLine.HelpCommand.class, TrainCommand.class, SampleCommand.class, GenerateCommand.class,
                MergeCommand.class, ResizeCommand.class, ExtractCommand.class, ExportCommand.class, LabelCommand.class, CaptionsCommand.class, InfoCommand.class, DownloadCommand.class, DoctorCommand.class, ImportCommand.class, GuiCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    // Inherited, so it may follow the subcommand: ./lora train --config x.yaml --debug
    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = "On an error, also print the Java stack trace (same as LORA_DEBUG=1).")
    void debug(boolean on) { ErrorReporter.setDebug(on); }

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * The command line with one-line error reporting (no stack traces unless --debug or LORA_DEBUG=1),
     * for command lines picocli cannot parse too.
     * Commands catch exceptions themselves and picocli's handler sees the rest, but Errors (above all
     * ExceptionInInitializerError from a binding class that could not load libtorch) pass both; the
     * execution strategy reports those too.
     */
    public static CommandLine newCommandLine() {
        ErrorReporter.setDebug(false);
        ErrorReporter reporter = new ErrorReporter();
        CommandLine cmd = new CommandLine(new Main()).setExecutionExceptionHandler(reporter).setParameterExceptionHandler(reporter);
        CommandLine.IExecutionStrategy runLast = new CommandLine.RunLast();
        return cmd.setExecutionStrategy(parsed -> {
            try {
                return runLast.execute(parsed);
            } catch (Error e) {
                return ErrorReporter.report(e, cmd.getErr());
            }
        });
    }

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }
}
