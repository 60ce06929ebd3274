package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Normalising by the whole accumulation window's weight makes batch b × accumulation a equal one
 * batch of b·a: same per-step losses, same weights, also when the epoch's last window is partial
 * (10 examples: windows of 4, 4, 2; dividing by the number of micro-batches instead of the
 * window's weight would give the 1 x 4 run a different last step).
 */
class AccumulationEquivalenceTest {
    @TempDir Path dir;

    private record Outcome(double[] losses, float[] weights) {}

    private Outcome train(int batch, int accumulation) throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("b" + batch + "a" + accumulation))
                .set("batch_size", batch).set("gradient_accumulation_steps", accumulation).set("epochs", 3)
                .set("max_grad_norm", 0.5);  // clipping acts on the accumulated gradient, so it must agree too
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingResult r = f.run(task);
            assertEquals(9, r.steps(), "3 epochs of ceil(10/4) = 3 steps");
            return new Outcome(f.losses(), task.weights());
        }
    }

    @Test void batchTimesAccumulationIsOneBigBatch() throws Exception {
        Outcome big = train(4, 1);
        Outcome twoByTwo = train(2, 2);
        Outcome fourByOne = train(1, 4);
        assertEquals(9, big.losses().length);
        assertArrayEquals(big.losses(), twoByTwo.losses(), 1e-6);
        assertArrayEquals(big.losses(), fourByOne.losses(), 1e-6);
        for (int i = 0; i < big.weights().length; i++) {
            assertEquals(big.weights()[i], twoByTwo.weights()[i], 1e-6, "weight " + i);
            assertEquals(big.weights()[i], fourByOne.weights()[i], 1e-6, "weight " + i);
        }
        assertTrue(big.losses()[8] < big.losses()[0], "the run learns something, so equal losses mean equal updates");
    }
}
