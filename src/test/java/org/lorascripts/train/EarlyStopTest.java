package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.io.Json;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

class EarlyStopTest {
    @TempDir Path dir;

    @Test void stopsAfterPatienceEvaluationsAndExportsTheBest() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 10).set("eval_steps", 2).set("early_stopping_patience", 3);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
            task.scriptedVal = new double[] {1.0, 0.6, 0.4, 0.41, 0.5, 0.45, 0.3};  // best 0.4 at step 6, then 3 worse
            TrainingResult r = f.run(task);
            assertTrue(r.stoppedEarly());
            assertEquals(12, r.steps(), "evals at 2..12: the 6th (step 12) is the 3rd without improvement");
            assertEquals(50, r.totalSteps());
            assertEquals(6, r.bestStep());
            assertEquals(dir.resolve("out/out-best.safetensors"), r.bestAdapter());
        }
        assertArrayEquals(Files.readAllBytes(dir.resolve("out/checkpoints/step-6/out.safetensors")),
                Files.readAllBytes(dir.resolve("out/out-best.safetensors")));
        assertTrue(Files.exists(dir.resolve("out/out.safetensors")), "the last weights are exported too");
        JsonNode state = Json.readObject(dir.resolve("out/checkpoints/step-12/trainer_state.json"));
        assertEquals(Json.node("step-6"), state.get("best_checkpoint"));
        assertEquals(Json.node(0.4), state.get("best_val_loss"));
        assertEquals(Json.node(3), state.get("early_stopping_bad_evaluations"));
        assertTrue(f.console().contains("early stopping at step 12"), f.console());
        assertTrue(f.console().contains("best val loss 0.4000 at step 6 (" + dir.resolve("out/out-best.safetensors") + ")"), f.console());
    }

    @Test void withoutPatienceTheRunGoesOnButStillTracksTheBest() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("eval_steps", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
            task.scriptedVal = new double[] {1.0, 0.2, 0.4, 0.41, 0.5, 0.45};
            TrainingResult r = f.run(task);
            assertFalse(r.stoppedEarly());
            assertEquals(10, r.steps());
            assertEquals(4, r.bestStep());
        }
    }

    @Test void validationIsRepeatableAndLeavesTheTrainingStreamAlone() {
        try (ToyLoraTask task = LoopFixture.task(10, 6, 0.0); Scope s = Scope.open()) {
            Precision fp32 = Precision.of(MixedPrecision.NO, Device.CPU);
            Rng.manualSeed(99);
            Tensor expectedNext = Torch.rand(new long[] {4}, DType.F64, Device.CPU);
            Rng.manualSeed(99);
            double first = ValidationPass.run(task, fp32, Device.CPU, 5, 4);
            double second = ValidationPass.run(task, fp32, Device.CPU, 5, 4);
            Tensor next = Torch.rand(new long[] {4}, DType.F64, Device.CPU);
            assertEquals(first, second, 0.0, "same weights, same seed: same value");
            assertArrayEquals(expectedNext.toDoubleArray(), next.toDoubleArray(), 0.0, "the training generator did not move");
            // guard: the task's validation loss really is random, so the fixed seed is what made it repeatable
            double a = task.lossSum(new int[] {0, 1, 2}, true).item();
            double b = task.lossSum(new int[] {0, 1, 2}, true).item();
            assertNotEquals(a, b);
            assertNotEquals(first, ValidationPass.run(task, fp32, Device.CPU, 6, 4), "another seed draws other noise");
        }
    }

    @Test void evaluatingDoesNotChangeTheTrainLosses() throws Exception {
        LoopFixture withVal = new LoopFixture(dir.resolve("a")).set("epochs", 3).set("eval_steps", 5);
        try (ToyLoraTask task = LoopFixture.task(10, 6, 0.3)) {
            withVal.run(task);
        }
        LoopFixture without = new LoopFixture(dir.resolve("b")).set("epochs", 3);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            without.run(task);
        }
        assertEquals(3, withVal.vals.size(), "evaluated at 5, 10, 15");
        assertArrayEquals(without.losses(), withVal.losses(), 0.0);
    }
}
