package org.lorascripts.cli;

import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * {@code --lora DIR}, a PEFT adapter folder, for {@code generate} and {@code merge}: the name {@code sample}
 * uses for its LoRAs too. {@code --adapter}, PEFT's word and these commands' first name for it, still
 * works but is hidden from help. The two form an exclusive picocli argument group (each command sets
 * whether it is required), so picocli refuses both at once and help and synopsis show only {@code --lora}.
 */
final class LoraFolderOption {
    @Option(names = "--lora", required = true, paramLabel = "DIR",
            description = "LoRA to use: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors).")
    Path lora;

    @Option(names = "--adapter", required = true, hidden = true, paramLabel = "DIR")
    Path adapter;

    Path folder() {
        return lora != null ? lora : adapter;
    }

    /** The folder given, if any (picocli leaves an optional group null when none of its options is given). */
    static Optional<Path> of(LoraFolderOption given) {
        return given == null ? Optional.empty() : Optional.of(given.folder());
    }
}
