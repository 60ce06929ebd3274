package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Numbers beyond their type are "too large" (or "too small") errors, never a NumberFormatException, a wrap or a rounding. */
class ConfigNumberOverflowTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\n";

    @Test void integersBeyondIntAreTooLarge() {
        assertEquals("my.yaml:3: max_train_steps must be an integer >= 0, got '99999999999999999999' (too large: at most 2147483647)",
                error(dir, MINIMAL + "max_train_steps: 99999999999999999999\n"));
        assertEquals("my.yaml:3: max_steps must be an integer >= 0, got '2147483648' (too large: at most 2147483647)",
                error(dir, MINIMAL + "max_steps: 2147483648\n"));
        assertEquals("my.yaml:3: epochs must be an integer >= 1, got '1e12' (too large: at most 2147483647)",
                error(dir, MINIMAL + "epochs: 1e12\n"));
        assertEquals("my.yaml:3: lora_rank must be an integer in 1..1024, got '99999999999' (too large: at most 1024)",
                error(dir, MINIMAL + "lora_rank: 99999999999\n"));
        assertEquals("my.yaml:3: seed must be an integer >= 0, got '-99999999999' (too small: at least 0)",
                error(dir, MINIMAL + "seed: -99999999999\n"));
        assertEquals("my.yaml:3: resolution must be a multiple of 8 between 8 and 8192, like 512 or \"768,512\" (width,height),"
                + " got '4294967808' (too large: at most 8192)", error(dir, MINIMAL + "resolution: 4294967808\n"));
    }

    @Test void theLargestIntStillLoads() {
        assertEquals(Integer.MAX_VALUE, load(dir, MINIMAL + "max_steps: 2147483647\n").config().loop().maxSteps());
        assertEquals(Integer.MAX_VALUE, load(dir, MINIMAL + "max_steps: 2_147_483_647\n").config().loop().maxSteps());
    }

    @Test void derivedCountsDoNotWrap() {
        assertEquals("my.yaml:4: batch_size x gradient_accumulation_steps = 4000000000 is too large (at most 2147483647)",
                error(dir, MINIMAL + "batch_size: 2000000000\ngradient_accumulation_steps: 2\n"));
        StepPlan plan = StepPlan.of(load(dir, MINIMAL + "batch_size: 2147483647\n").config(), 12);
        assertEquals(1, plan.microBatchesPerEpoch());
        assertEquals(10, plan.totalSteps());
    }

    @Test void floatsBeyondDoubleAreTooLarge() {
        assertEquals("my.yaml:3: learning_rate must be a number > 0, got '1e999' (too large)", error(dir, MINIMAL + "learning_rate: 1e999\n"));
    }

    @Test void overridesUseTheSameRule() {
        assertEquals("--set max_steps=99999999999999999999: max_steps must be an integer >= 0, got '99999999999999999999'"
                + " (too large: at most 2147483647)", error(dir, MINIMAL, "max_steps=99999999999999999999"));
    }
}
