package org.lorascripts.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** Writes YAML configs into a test folder and loads them. */
final class ConfigTestFiles {
    private ConfigTestFiles() {}

    static Path write(Path dir, String name, String yaml) {
        try {
            Path p = dir.resolve(name);
            Files.createDirectories(p.getParent());
            Files.writeString(p, yaml);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static LoadedConfig load(Path dir, String yaml, String... overrides) {
        return ConfigLoader.load(write(dir, "my.yaml", yaml), List.of(overrides));
    }

    /** Every problem (one line each) of the ConfigException thrown when loading {@code yaml} as {@code dir/my.yaml}. */
    static List<String> errors(Path dir, String yaml, String... overrides) {
        Path file = write(dir, "my.yaml", yaml);
        Executable load = () -> ConfigLoader.load(file, List.of(overrides));
        return assertThrows(ConfigException.class, load).problems().stream().map(m -> m.replace(file.toString(), "my.yaml")).toList();
    }

    /** The message of the ConfigException thrown when loading {@code yaml} as {@code dir/my.yaml}. */
    static String error(Path dir, String yaml, String... overrides) {
        Path file = write(dir, "my.yaml", yaml);
        Executable load = () -> ConfigLoader.load(file, List.of(overrides));
        return assertThrows(ConfigException.class, load).getMessage().replace(file.toString(), "my.yaml");
    }
}
