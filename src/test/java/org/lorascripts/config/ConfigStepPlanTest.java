package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigStepPlanTest {
    private static TrainConfig config(Object... kv) {
        Map<String, Object> m = new java.util.HashMap<>(Map.of("base_model", "builtin:tiny-sd", "train_data_dir", "/d"));
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return ConfigLoader.fromMap(m, Path.of("/")).config();
    }

    @Test void partialBatchesAndAccumulationGroupsRoundUp() {
        StepPlan p = StepPlan.of(config("batch_size", 4, "gradient_accumulation_steps", 2, "epochs", 3), 10);
        assertEquals(3, p.microBatchesPerEpoch(), "ceil(10 / 4)");
        assertEquals(2, p.stepsPerEpoch(), "ceil(3 / 2)");
        assertEquals(6, p.totalSteps());
        assertEquals(8, p.effectiveBatchSize());
    }

    @Test void exactDivision() {
        StepPlan p = StepPlan.of(config("batch_size", 4, "epochs", 15), 100);
        assertEquals(25, p.stepsPerEpoch());
        assertEquals(375, p.totalSteps());
    }

    @Test void maxStepsOverridesEpochs() {
        StepPlan p = StepPlan.of(config("batch_size", 2, "max_steps", 10, "epochs", 99), 8);
        assertEquals(4, p.stepsPerEpoch());
        assertEquals(10, p.totalSteps());
        assertEquals(3, p.epochs(), "ceil(10 / 4) epochs are started");
        assertEquals(2.5, p.viewsPerExample());
    }

    @Test void validationSplitIsFloorButAtLeastOne() {
        assertEquals(9, StepPlan.of(config("val_ratio", 0.1), 95).valExamples());
        assertEquals(1, StepPlan.of(config("val_ratio", 0.05), 8).valExamples());
        assertEquals(0, StepPlan.of(config("val_ratio", 0.5), 1).valExamples(), "the only example stays for training");
        assertEquals(86, StepPlan.of(config("val_ratio", 0.1), 95).trainExamples());
    }
}
