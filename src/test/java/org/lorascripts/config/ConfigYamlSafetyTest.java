package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.error;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken or hostile YAML ends in one line naming file, line and column: tabs, control bytes, alias
 * bombs, absurd nesting and sizes; never a stack trace, a StackOverflowError or a hang.
 */
class ConfigYamlSafetyTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\n";

    @Test void tabIndentation() {
        assertEquals("my.yaml:4:1: YAML syntax error: found a tab character (indent with spaces, not tabs)",
                error(dir, MINIMAL + "train_config:\n\tepochs: 3\n"));
    }

    @Test void nulAndOtherControlCharacters() {
        assertEquals("my.yaml:2:19: YAML syntax error: found a NUL byte (the file is not plain text; remove it or save the file"
                + " as UTF-8 text)", error(dir, "base_model: builtin:tiny-sd\ntrain_data_dir: da\0ta\n"));
        assertEquals("my.yaml:3:5: YAML syntax error: found the control character U+0007 (the file is not plain text; remove it"
                + " or save the file as UTF-8 text)", error(dir, MINIMAL + "seed\u0007: 1\n"));
        assertEquals("my.yaml:3:2: YAML syntax error: found a NUL byte (the file is not plain text; remove it or save the file"
                + " as UTF-8 text)", error(dir, "base_model: builtin:tiny-sd\r\ntrain_data_dir: data\r\n#\0\r\n"), "CRLF lines count once");
    }

    @Test void billionLaughsIsRefusedAtTheAliasThatCrossesTheLimit() {
        StringBuilder yaml = new StringBuilder(MINIMAL + "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (char c = 'b'; c <= 'i'; c++) {
            String p = "*" + (char) (c - 1);
            yaml.append(c).append(": &").append(c).append(" [").append(String.join(", ", java.util.Collections.nCopies(9, p))).append("]\n");
        }
        String m = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> error(dir, yaml.toString()));
        // b: holds aliases 1-9, so the 11th is the second *b of c: on line 5
        assertEquals("my.yaml:5:12: YAML syntax error: more than 10 aliases (*name) of lists or mappings; write the values out", m);
    }

    @Test void aFewAliasesAreFine() {
        LoadedConfig l = ConfigTestFiles.load(dir, MINIMAL + "sample_prompts: &p [a cat, a dog]\nlearning_rate: &lr 2e-4\nunet_lr: *lr\n");
        assertEquals(List.of("a cat", "a dog"), l.config().sample().prompts());
        assertEquals(2e-4, l.config().optimizer().unetLr());
    }

    @Test void aSelfReferenceDoesNotLoop() {
        String m = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> error(dir, MINIMAL + "sample_prompts: &p [a cat, *p]\n"));
        assertEquals("my.yaml:3: sample_prompts must be a list of strings, got an item a list", m);
    }

    @Test void deepNestingIsRefusedNotAStackOverflow() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        // the 16th bracket: the file's own mapping is the first level
        assertEquals("my.yaml:3:32: YAML syntax error: nested more than 16 levels deep (a config needs 3: section, key, list)",
                error(dir, MINIMAL + "sample_prompts: " + deep + "\n"));
        ConfigException set = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(ConfigTestFiles.write(dir, "ok.yaml", MINIMAL), List.of("sample_prompts=" + deep)));
        assertTrue(set.getMessage().startsWith("--set sample_prompts=[[[[[[[[[["), set.getMessage().substring(0, 60));
        assertTrue(set.getMessage().endsWith(": sample_prompts must be a list like [a, b], got '" + deep + "'"));
    }

    @Test void sizeLimits() throws Exception {
        String longText = MINIMAL + "# " + "x".repeat(SafeYaml.MAX_CODE_POINTS) + "\n";
        ConfigException text = assertThrows(ConfigException.class,
                () -> ConfigLoader.loadText(longText, "big.yaml", dir, List.of()));
        assertEquals("big.yaml: the config file is longer than 1048576 characters; is it the right file?", text.getMessage());
        Path huge = dir.resolve("huge.yaml");
        Files.write(huge, new byte[(int) YamlConfigReader.MAX_FILE_BYTES + 1]);
        ConfigException file = assertThrows(ConfigException.class, () -> ConfigLoader.load(huge, List.of()));
        assertEquals(huge + ": 4194305 bytes is far too large for a config file (they are a few KB); is it the right file?", file.getMessage());
    }

    @Test void everySyntaxErrorIsOneLineWithLineAndColumn() {
        for (String bad : List.of("a: [1, 2\n", "a: \"x\n", "a: b: c\n", "- a\nb: c\n", "a: *nothing\n", "a: 'x' y\n", "a: [b]]\n", "%YAML 9.9\n---\na: b\n")) {
            String m = error(dir, bad);
            assertEquals(1, m.lines().count(), m);
            assertTrue(m.matches("my\\.yaml(:\\d+:\\d+)?: .*"), m);
        }
    }
}
