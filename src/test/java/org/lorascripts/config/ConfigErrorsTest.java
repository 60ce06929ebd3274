package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.error;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every config error is one line naming file:line (or the --set argument), key, value and a fix. */
class ConfigErrorsTest {
    @TempDir Path dir;

    private static final String MINIMAL = """
            base_model: builtin:tiny-sd
            train_data_dir: data
            """;

    private String errorWith(String line, String... overrides) {
        return error(dir, MINIMAL + line, overrides);
    }

    @Test void unknownKeySuggestsTheClosest() {
        assertEquals("my.yaml:3: unknown key 'learning_rat' (did you mean 'learning_rate'?)", errorWith("learning_rat: 1e-4\n"));
        assertEquals("my.yaml:3: unknown key 'batchsize' (did you mean 'batch_size'?)", errorWith("batchsize: 2\n"));
        assertEquals("my.yaml:3: unknown key 'lr_sceduler' (did you mean 'lr_scheduler'?)", errorWith("lr_sceduler: cosine\n"));
        assertEquals("my.yaml:3: unknown key 'trian_config' (did you mean 'train_config'?)", errorWith("trian_config:\n  epochs: 2\n"));
        assertEquals("my.yaml:4: unknown key 'lerning_rate' (did you mean 'learning_rate'?)",
                errorWith("train_config:\n  lerning_rate: 1e-4\n"));
    }

    @Test void unknownKeyWithoutACloseMatchPointsToTheKeyList() {
        assertEquals("my.yaml:3: unknown key 'foo'; run './lora train --list-keys' to see all keys", errorWith("foo: 1\n"));
    }

    @Test void typeErrorsNameKeyExpectationAndValue() {
        assertEquals("my.yaml:3: batch_size must be an integer >= 1, got 'four'", errorWith("batch_size: four\n"));
        assertEquals("my.yaml:3: batch_size must be an integer >= 1, got '2.5'", errorWith("batch_size: 2.5\n"));
        assertEquals("my.yaml:3: batch_size must be an integer >= 1, got a mapping", errorWith("batch_size: {a: 1}\n"));
        assertEquals("my.yaml:3: learning_rate must be a number > 0, got 'fast'", errorWith("learning_rate: fast\n"));
        assertEquals("my.yaml:3: flip_aug must be true or false, got 'maybe'", errorWith("flip_aug: maybe\n"));
        assertEquals("my.yaml:3: epochs must be an integer >= 1, got a list", errorWith("epochs: [1, 2]\n"));
    }

    @Test void rangesAreNamed() {
        assertEquals("my.yaml:3: lora_rank must be an integer in 1..1024, got '2000'", errorWith("lora_rank: 2000\n"));
        assertEquals("my.yaml:3: lora_rank must be an integer in 1..1024, got '0'", errorWith("lora_rank: 0\n"));
        assertEquals("my.yaml:3: lora_dropout must be a number in [0, 1), got '1'", errorWith("lora_dropout: 1\n"));
        assertEquals("my.yaml:3: val_ratio must be a number in [0, 0.5], got '0.6'", errorWith("val_ratio: 0.6\n"));
        assertEquals("my.yaml:3: learning_rate must be a number > 0, got '-1e-4'", errorWith("learning_rate: -1e-4\n"));
        assertEquals("my.yaml:3: max_token_length must be one of 75, 150, 225, got '100'", errorWith("max_token_length: 100\n"));
        assertEquals("my.yaml:3: resolution must be a multiple of 8 between 8 and 8192, like 512 or \"768,512\""
                + " (width,height), got '500'", errorWith("resolution: 500\n"));
    }

    @Test void choicesAreListedWithASuggestion() {
        assertEquals("my.yaml:3: lr_scheduler must be one of constant, constant_with_warmup, linear, cosine,"
                + " cosine_with_restarts, polynomial, got 'cosin' (did you mean 'cosine'?)", errorWith("lr_scheduler: cosin\n"));
        assertEquals("my.yaml:3: optimizer must be one of adamw, adamw8bit, lion, sgd, sgd_nesterov, adafactor, prodigy, got 'lamb'",
                errorWith("optimizer: lamb\n"));
        assertEquals("my.yaml:3: optimizer 'Lion8bit': 8-bit lion (bitsandbytes) is not implemented; use lion"
                + " (full precision state) or adamw8bit", errorWith("optimizer: Lion8bit\n"));
        assertEquals("my.yaml:3: mixed_precision must be one of no, fp16, bf16, got 'fp32'", errorWith("mixed_precision: fp32\n"));
        assertEquals("my.yaml:3: device must be one of auto, cpu, cuda, cuda:N, got 'gpu' (did you mean 'cuda'?)",
                errorWith("device: gpu\n"));
        assertEquals("my.yaml:1: base_model 'builtin:tiny-sdx' is not a builtin model; builtins are builtin:tiny-sd,"
                + " builtin:tiny-sdxl, builtin:tiny-llama (did you mean 'builtin:tiny-sd'?)",
                error(dir, "base_model: builtin:tiny-sdx\ntrain_data_dir: data\n"));
    }

    @Test void yamlSyntaxErrorsNameTheLine() {
        // line and column (the column was added: it points at the character to fix)
        String m = error(dir, "base_model: builtin:tiny-sd\ntrain_data_dir: data\nbatch_size: 2\n  epochs: 3\n");
        assertTrue(m.startsWith("my.yaml:4:9: YAML syntax error: "), m);
        String tab = error(dir, "base_model: builtin:tiny-sd\n\ttrain_data_dir: data\n");
        assertEquals("my.yaml:2:1: YAML syntax error: found a tab character (indent with spaces, not tabs)", tab);
        String quote = error(dir, "base_model: \"builtin:tiny-sd\ntrain_data_dir: data\n");
        assertTrue(quote.startsWith("my.yaml:"), quote);
        assertEquals(1, quote.lines().count(), "one line");
    }

    @Test void fileLevelProblems() {
        assertEquals("my.yaml: the config file is empty; see examples/quickstart.yaml", error(dir, "# nothing\n"));
        assertEquals("my.yaml:1: the config must be 'key: value' lines, got a list", error(dir, "- a\n- b\n"));
        Path missing = dir.resolve("nope.yaml");
        assertEquals("config file not found: " + missing,
                assertThrows(ConfigException.class, () -> ConfigLoader.load(missing, List.of())).getMessage());
    }

    @Test void requiredKeys() {
        assertEquals("my.yaml: missing required key 'train_data_dir': " + ConfigKeys.get("train_data_dir").help(),
                error(dir, "base_model: builtin:tiny-sd\n"));
        assertEquals("my.yaml: missing required key 'base_model': " + ConfigKeys.get("base_model").help(),
                error(dir, "train_data_dir: data\n"));
        assertEquals("my.yaml:1: base_model has no value; " + ConfigKeys.get("base_model").help(),
                error(dir, "base_model:\ntrain_data_dir: data\n"));
    }

    @Test void duplicateKeys() {
        assertEquals("my.yaml:4: duplicate key 'batch_size' (first set at line 3); keep one",
                errorWith("batch_size: 2\nbatch_size: 4\n"));
        assertEquals("my.yaml:5: duplicate key 'batch_size' (first set at line 3); keep one",
                errorWith("batch_size: 2\ntrain_config:\n  batch_size: 4\n"));
        assertEquals("my.yaml:4: 'lr_warmup_steps' and 'warmup_steps' (line 3) are the same setting; keep one",
                errorWith("warmup_steps: 10\nlr_warmup_steps: 20\n"));
    }

    @Test void sectionShapes() {
        assertEquals("my.yaml:4: model_config cannot be nested inside train_config; sections are one level deep"
                + " (or put every key at the top level)", errorWith("train_config:\n  model_config:\n    clip_skip: 2\n"));
        assertEquals("my.yaml:3: train_config must hold indented 'key: value' lines, got '5'", errorWith("train_config: 5\n"));
    }

    @Test void overridesUseTheSameRules() {
        assertEquals("--set batch_size=four: batch_size must be an integer >= 1, got 'four'",
                errorWith("", "batch_size=four"));
        assertEquals("--set learning_rat=1e-4: unknown key 'learning_rat' (did you mean 'learning_rate'?)",
                errorWith("", "learning_rat=1e-4"));
        assertEquals("--set batch_size: expected KEY=VALUE, e.g. --set learning_rate=2e-4", errorWith("", "batch_size"));
        assertEquals("--set lr_scheduler=cosin: lr_scheduler must be one of constant, constant_with_warmup, linear, cosine,"
                + " cosine_with_restarts, polynomial, got 'cosin' (did you mean 'cosine'?)", errorWith("", "lr_scheduler=cosin"));
    }

    @Test void crossKeyRules() {
        assertEquals("my.yaml:4: mixed_precision 'bf16' conflicts with use_fp16: true (my.yaml:3); remove use_fp16"
                + " (legacy) and keep mixed_precision", errorWith("use_fp16: true\nmixed_precision: bf16\n"));
        assertEquals("my.yaml:4: mixed_precision 'fp16' conflicts with use_fp16: false (my.yaml:3); remove use_fp16"
                + " (legacy) and keep mixed_precision", errorWith("use_fp16: false\nmixed_precision: fp16\n"));
        assertEquals("my.yaml:1: base_model builtin:tiny-llama is a text-generation model but task_type is"
                + " image-generation; set task_type: text-generation", error(dir, "base_model: builtin:tiny-llama\ntrain_data_dir: d\n"));
        assertEquals("my.yaml:4: set either val_ratio or val_data_dir, not both (val_ratio is at my.yaml:3)",
                errorWith("val_ratio: 0.1\nval_data_dir: val\n"));
        assertEquals("my.yaml:3: output_name must be a file name stem without folders, got 'out/lora'; put folders in"
                + " output_dir", errorWith("output_name: out/lora\n"));
        assertEquals("my.yaml:3: random_crop: true needs cache_latents: false (cached latents are computed once per"
                + " image, so per-step augmentation cannot apply)", errorWith("random_crop: true\n"));
        // a min_bucket_reso the user set is respected (the default one follows the resolution: ConfigBucketRangeTest)
        assertEquals("my.yaml:3: resolution 128 is below min_bucket_reso 256 (set at my.yaml:4); set min_bucket_reso: 128 or"
                + " enable_bucket: false", errorWith("resolution: 128\nmin_bucket_reso: 256\n"));
        assertEquals("my.yaml:3: min_bucket_reso 512 is larger than max_bucket_reso 256",
                errorWith("min_bucket_reso: 512\nmax_bucket_reso: 256\nresolution: 256\n"));
    }

    @Test void messagesAreOneLine() {
        String m = errorWith("lr_scheduler: cosin\n");
        assertEquals(1, m.lines().count());
    }
}
