package org.lorascripts.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./lora}. Only parses arguments and dispatches to subcommands. */
@Command(name = "lora", mixinStandardHelpOptions = true, version = "lora-scripts 0.1.0",
        description = "LoRA fine-tuning for Stable Diffusion and LLaMA-family models.",
        subcommands = {CommandLine.HelpCommand.class, LabelCommand.class, CaptionsCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
