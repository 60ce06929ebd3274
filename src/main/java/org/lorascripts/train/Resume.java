package org.lorascripts.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.lorascripts.config.ConfigException;

/** Where a run continues from: nowhere, the newest checkpoint in output_dir, or a given checkpoint. */
public sealed interface Resume {
    record None() implements Resume {}

    /** The newest checkpoint under the config's output_dir (the trainer finds it). */
    record Latest() implements Resume {}

    record From(Path checkpoint) implements Resume {}

    /**
     * Parses the {@code --resume} argument: null = none, "latest", or a path (relative to the
     * working directory) that must exist.
     *
     * @throws ConfigException with a one-line message when the path does not exist
     */
    static Resume parse(String argument) {
        if (argument == null || argument.isBlank()) return new None();
        if (argument.equals("latest")) return new Latest();
        Path p = Path.of(argument).toAbsolutePath().normalize();
        if (!Files.exists(p)) {
            throw new ConfigException("--resume " + argument + ": no such checkpoint (give a checkpoint path or 'latest')");
        }
        return new From(p);
    }

    default Optional<Path> path() {
        return this instanceof From f ? Optional.of(f.checkpoint()) : Optional.empty();
    }
}
