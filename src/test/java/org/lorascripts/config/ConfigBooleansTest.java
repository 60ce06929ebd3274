package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One rule for booleans in the file and in --set: the spellings PyYAML (YAML 1.1) reads as booleans,
 * true/false, yes/no, on/off, in any letter case, quoted or not; 1/0 and y/n are refused with a hint.
 */
class ConfigBooleansTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\ncache_latents: false\n";
    private static final List<String> TRUE = List.of("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "\"yes\"");
    private static final List<String> FALSE = List.of("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "'off'");

    private boolean fromFile(String text) {
        return load(dir, MINIMAL + "flip_aug: " + text + "\n").config().image().flipAug();
    }

    private boolean fromSet(String text) {
        return load(dir, MINIMAL, "flip_aug=" + text.replace("\"", "").replace("'", "")).config().image().flipAug();
    }

    @Test void theSameSpellingsAreAcceptedInTheFileAndInSet() {
        for (String t : TRUE) {
            assertEquals(true, fromFile(t), "file: " + t);
            assertEquals(true, fromSet(t), "--set: " + t);
        }
        for (String f : FALSE) {
            assertEquals(false, fromFile(f), "file: " + f);
            assertEquals(false, fromSet(f), "--set: " + f);
        }
    }

    @Test void numbersAndSingleLettersAreRefusedTheSameWayInBoth() {
        for (String t : List.of("1", "0", "y", "n")) {
            assertEquals("my.yaml:4: flip_aug must be true or false, got '" + t + "' (1/0 and y/n are not booleans here; write true or false)",
                    error(dir, MINIMAL + "flip_aug: " + t + "\n"));
            assertEquals("--set flip_aug=" + t + ": flip_aug must be true or false, got '" + t + "' (1/0 and y/n are not booleans here;"
                    + " write true or false)", error(dir, MINIMAL, "flip_aug=" + t));
        }
        assertEquals("my.yaml:4: flip_aug must be true or false, got 'maybe'", error(dir, MINIMAL + "flip_aug: maybe\n"));
    }
}
