package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.data.PackedSequence;
import org.lorascripts.data.TextBatch;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.llm.LlamaForCausalLM;

/** Token weighting across accumulation windows, and packed batches. */
class LlmLoraBatchTest {
    @TempDir Path dir;

    private record Outcome(double[] losses, double[] weights) {}

    private Outcome train(Path data, int batch, int accumulation) throws Exception {
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("b" + batch + "a" + accumulation), data)
                .set("batch_size", batch).set("gradient_accumulation_steps", accumulation).set("epochs", 2)
                .set("learning_rate", 3e-3).set("max_grad_norm", 0.5);   // clipping sees the accumulated gradient, so it must agree too
        try (LlmLoraTask task = f.task(DType.F64)) {
            f.run(task);
            return new Outcome(f.losses(), LlmLoraFixture.weights(task));
        }
    }

    /**
     * Examples of very different lengths: a window's loss is its token mean, so batch 2 x 1 and
     * batch 1 x 2 take the same steps. Averaging per micro-batch means instead would differ,
     * which the second half checks on the first window.
     */
    @Test void batchTwoEqualsBatchOneTimesAccumulationTwo() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        Outcome big = train(data, 2, 1);
        Outcome accumulated = train(data, 1, 2);
        assertEquals(8, big.losses().length);
        assertArrayEquals(big.losses(), accumulated.losses(), 1e-6);
        // fp32 GEMMs block differently for one row and two: libtorch 2.13's CPU kernels leave ~1.3e-6 after 8 Adam steps
        assertArrayEquals(big.weights(), accumulated.weights(), 5e-6);
        assertTrue(big.losses()[7] < big.losses()[0], "the run learns, so equal losses mean equal updates");

        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("check"), data);
        try (LlmLoraTask task = f.task(DType.F64); Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            int[] a = {3}, b = {6};  // "Hello, world!" and the longest line
            double la = task.lossSum(a, false).item(), lb = task.lossSum(b, false).item();
            double wa = task.weight(a, false), wb = task.weight(b, false);
            assertTrue(wb > 3 * wa, wa + " vs " + wb + " target tokens");
            assertEquals(la + lb, task.lossSum(new int[] {3, 6}, false).item(), 1e-9, "padding adds nothing");
            assertEquals(wa + wb, task.weight(new int[] {3, 6}, false));
            assertTrue(Math.abs((la + lb) / (wa + wb) - (la / wa + lb / wb) / 2) > 1e-3, "token mean differs from the mean of means");
        }
    }

    /** A packed row's loss is the sum of its examples' losses, each scored as if alone. */
    @Test void packedRowsKeepExamplesApart() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) lines.addAll(LlmLoraFixture.LINES);
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), lines);
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), data).set("packing", true).set("max_seq_len", 48);
        try (LlmLoraTask task = f.task(DType.F64); Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            assertTrue(task.trainData().packed());
            for (int row : new int[] {0, 1, 2}) {
                PackedSequence seq = task.trainData().sequence(row);
                int[] starts = seq.sequenceStarts();
                assertTrue(starts.length >= 2, "rows hold several examples");
                double alone = 0;
                long targets = 0;
                for (int k = 0; k < starts.length; k++) {
                    int from = starts[k], to = k + 1 < starts.length ? starts[k + 1] : seq.length();
                    if (to - from < 2) continue;
                    long[] ids = java.util.Arrays.copyOfRange(seq.inputIds(), from, to);
                    long[] labels = java.util.Arrays.copyOfRange(seq.labels(), from, to);
                    alone += task.model().lossSum(Torch.of(ids, 1, ids.length), Torch.of(labels, 1, labels.length)).item();
                    targets += LlamaForCausalLM.targetCount(Torch.of(labels, 1, labels.length));
                }
                double packed = task.lossSum(new int[] {row}, false).item();
                assertEquals(alone, packed, 1e-9 * Math.abs(alone), "row " + row);
                assertEquals(targets, task.weight(new int[] {row}, false), "row " + row + ": weight = the model's target count");
            }
        }
    }

    @Test void sequenceIdsNumberTheExamplesOfEachRow() {
        try (Scope s = Scope.open()) {
            long[] ids = new long[10];
            TextBatch b = new TextBatch(Torch.of(ids, 2, 5), Torch.of(ids, 2, 5), null, Torch.of(ids, 2, 5),
                    List.of(new int[] {0, 2, 3}, new int[] {0}), 0);
            assertArrayEquals(new long[] {0, 0, 1, 2, 2, 0, 0, 0, 0, 0}, LlmLoraTask.sequenceIds(b).toLongArray());
        }
    }
}
