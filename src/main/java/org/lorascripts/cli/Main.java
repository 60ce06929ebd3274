package org.lorascripts.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./lora}. Only parses arguments and dispatches to subcommands. */
@Command(name = "lora", mixinStandardHelpOptions = true, version = "lora-scripts 0.1.0",
        description = "LoRA fine-tuning for Stable Diffusion and LLaMA-family models.",
        subcommands = {CommandLine.HelpCommand.class, TrainCommand.class, SampleCommand.class, GenerateCommand.class,
                MergeCommand.class, LabelCommand.class, CaptionsCommand.class, InfoCommand.class, DoctorCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The command line with one-line error reporting (no stack traces unless LORA_DEBUG=1). */
    public static CommandLine newCommandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler(new ErrorReporter());
    }

    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }
}
