package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `key:` with nothing is an error naming the key; `key: ~` (or null) and `--set key=` mean the default. */
class ConfigEmptyValueTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\n";

    @Test void anEmptyValueIsAnErrorNamingTheKey() {
        assertEquals("my.yaml:3: lora_rank: empty value; give a number or remove the line", error(dir, MINIMAL + "lora_rank:\n"));
        assertEquals("my.yaml:3: lora_rank: empty value; give a number or remove the line", error(dir, MINIMAL + "lora_rank: \"\"\n"));
        assertEquals("my.yaml:3: learning_rate: empty value; give a number or remove the line", error(dir, MINIMAL + "learning_rate:   # tbd\n"));
        assertEquals("my.yaml:3: flip_aug: empty value; give true/false or remove the line", error(dir, MINIMAL + "flip_aug:\n"));
        assertEquals("my.yaml:3: mixed_precision: empty value; give a value (no, fp16, bf16) or remove the line",
                error(dir, MINIMAL + "mixed_precision:\n"));
        assertEquals("my.yaml:4: network_weights: empty value; give a path or remove the line",
                error(dir, MINIMAL + "model_config:\n  network_weights:\n"));
        assertEquals("my.yaml:3: sample_prompts must be a list of strings, got an empty item",
                error(dir, MINIMAL + "sample_prompts:\n  - a cat\n  -\n"));
    }

    @Test void anEmptyRequiredKeySaysWhatItIsFor() {
        assertEquals("my.yaml:1: base_model has no value; " + ConfigKeys.get("base_model").help(),
                error(dir, "base_model:\ntrain_data_dir: data\n"));
    }

    @Test void anExplicitNullOrAnEmptySetMeansTheDefault() {
        assertEquals(8, load(dir, MINIMAL + "lora_rank: ~\n").config().lora().rank());
        assertEquals(8, load(dir, MINIMAL + "lora_rank: null\n").config().lora().rank());
        assertEquals(8, load(dir, MINIMAL + "lora_rank: 4\n", "lora_rank=").config().lora().rank());
        assertEquals(8, load(dir, MINIMAL + "lora_rank: 4\n", "lora_rank=null").config().lora().rank(), "as `lora_rank: null` in the file");
        assertEquals(4, load(dir, MINIMAL + "lora_rank:\n", "lora_rank=4").config().lora().rank(), "an override replaces the empty line");
        assertEquals(10, load(dir, MINIMAL + "train_config:\n").config().loop().epochs(), "an empty section is fine");
    }
}
