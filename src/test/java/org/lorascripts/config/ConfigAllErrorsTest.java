package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.errors;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A config with several mistakes reports all of them in one run, in file order, each naming file, line and key. */
class ConfigAllErrorsTest {
    @TempDir Path dir;

    @Test void everyUnknownKeyAndBadValueIsReportedWithItsLine() {
        List<String> e = errors(dir, """
                base_model: builtin:tiny-sd
                train_data_dir: data
                learning_rat: 1e-4
                lora_rank: 2000
                train_config:
                  batch_size: four
                  foo: 1
                flip_aug: maybe
                """, "epochs=zero", "lr_sceduler=cosine");
        assertEquals(List.of(
                "my.yaml:3: unknown key 'learning_rat' (did you mean 'learning_rate'?)",
                "my.yaml:4: lora_rank must be an integer in 1..1024, got '2000'",
                "my.yaml:6: batch_size must be an integer >= 1, got 'four'",
                "my.yaml:7: unknown key 'foo'; run './lora train --list-keys' to see all keys",
                "my.yaml:8: flip_aug must be true or false, got 'maybe'",
                "--set epochs=zero: epochs must be an integer >= 1, got 'zero'",
                "--set lr_sceduler=cosine: unknown key 'lr_sceduler' (did you mean 'lr_scheduler'?)"), e);
    }

    @Test void valueErrorsDuplicatesAndMissingKeysTogether() {
        List<String> e = errors(dir, """
                base_model: builtin:tiny-sd
                batch_size: 2
                batch_size: 3
                lora_rank:
                output_name: a/b
                """);
        assertEquals(List.of(
                "my.yaml:3: duplicate key 'batch_size' (first set at line 2); keep one",
                "my.yaml:4: lora_rank: empty value; give a number or remove the line",
                "my.yaml:5: output_name must be a file name stem without folders, got 'a/b'; put folders in output_dir",
                "my.yaml: missing required key 'train_data_dir': " + ConfigKeys.get("train_data_dir").help()), e);
    }

    @Test void aCrossKeyRuleOnAKeyThatFailedByItselfIsNotReported() {
        // use_fp16 failed, so "conflicts with use_fp16" would be about a value the user never chose
        assertEquals(List.of("my.yaml:3: use_fp16 must be true or false, got 'maybe'"),
                errors(dir, "base_model: builtin:tiny-sd\ntrain_data_dir: d\nuse_fp16: maybe\nmixed_precision: bf16\n"));
        assertEquals(List.of("my.yaml:3: val_ratio must be a number in [0, 0.5], got '0.9'"),
                errors(dir, "base_model: builtin:tiny-sd\ntrain_data_dir: d\nval_ratio: 0.9\nval_data_dir: v\n"));
    }

    @Test void everyMessageNamesTheFileOrTheSetArgumentAndTheKey() {
        List<String> e = errors(dir, """
                base_model: builtin:tiny-sd
                train_data_dir: data
                clip_skip: 20
                resolution: 500
                max_steps: 1e30
                random_crop: true
                model_config:
                  lora_config:
                    lora_rank: 4
                """, "device=gpu");
        assertEquals(6, e.size(), e.toString());
        List<String> keys = List.of("clip_skip", "resolution", "max_steps", "random_crop", "lora_config", "device");
        for (int i = 0; i < e.size(); i++) {
            String m = e.get(i);
            assertTrue(m.startsWith("my.yaml:") || m.startsWith("--set device=gpu: "), m);
            assertTrue(m.contains(keys.get(i)), keys.get(i) + " in " + m);
            assertEquals(1, m.lines().count(), m);
        }
    }
}
