package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Scopes free what they own; kept and moved tensors survive; a long training loop does not leak. */
class LifetimeTest {

    @Test
    void scopeFreesAllButKeptAndMoved() {
        long base = Tensor.liveCount();
        Tensor kept, moved;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                Tensor a = Torch.ones(3);
                a.add(1).mul(2);
                kept = a.add(5).keep();
                moved = inner.moveToOuter(a.sub(1));
                assertEquals(3, inner.ownedCount());
            }
            assertFalse(moved.isClosed(), "moved tensor lives in the outer scope");
            assertFalse(kept.isClosed());
            assertEquals(1, outer.ownedCount());
        }
        assertTrue(moved.isClosed(), "outer scope freed the moved tensor");
        assertFalse(kept.isClosed());
        assertTrue(Tensor.liveCount() <= base + 1, "only the kept tensor remains");
        kept.close();
        assertTrue(Tensor.liveCount() <= base);
    }

    @Test
    void scopedBlockKeepsOnlyItsResultAndGradientsStillFlow() {
        try (Scope outer = Scope.open()) {
            Tensor w = Torch.randn(4, 4).requiresGrad_(true);
            Tensor x = Torch.randn(2, 4);
            int before = outer.ownedCount();
            Tensor y = Scope.scoped(() -> x.matmul(w).tanh().mul(2).add(1).sigmoid());
            assertEquals(before + 1, outer.ownedCount(), "temporaries were freed, the result moved out");
            y.sum().backward();
            Tensor g = w.grad();
            // the same computation without the inner scope gives the same gradient
            Tensor w2 = w.detach().requiresGrad_(true);
            x.matmul(w2).tanh().mul(2).add(1).sigmoid().sum().backward();
            org.junit.jupiter.api.Assertions.assertArrayEquals(w2.grad().toFloatArray(), g.toFloatArray(), 1e-6f);
            Tensor same = Scope.scoped(() -> x);
            assertTrue(same == x, "a tensor from outside is returned as it is");
        }
    }

    @Test
    void scopesCloseInnermostFirst() {
        Scope a = Scope.open();
        Scope b = Scope.open();
        assertThrows(IllegalStateException.class, a::close);
        b.close();
        a.close();
    }

    @Test
    void earlyCloseInsideScopeIsSafe() {
        long base = Tensor.liveCount();
        try (Scope s = Scope.open()) {
            Tensor t = Torch.zeros(2);
            t.close();
            assertThrows(IllegalStateException.class, t::numel);
        }
        assertTrue(Tensor.liveCount() <= base);
    }

    /** 10 000 small training steps: live tensor count back at baseline and resident memory flat. */
    @Test
    void tenThousandTrainingStepsLeakNothing() throws IOException {
        long base = LiveTensors.settle();
        Tensor w = Torch.randn(new long[] {16, 8}, DType.F32, Device.CPU).mul(0.1).keep().requiresGrad_(true);
        Tensor x = Torch.randn(new long[] {4, 8}, DType.F32, Device.CPU).keep();
        Tensor y = Torch.randn(new long[] {4, 16}, DType.F32, Device.CPU).keep();
        long rssAfterWarmup = 0;
        int steps = 10_000;
        for (int i = 0; i < steps; i++) {
            try (Scope s = Scope.open()) {
                Tensor loss = Functional.mseLoss(Functional.linear(x, w, null).tanh(), y, Functional.Reduction.MEAN);
                loss.backward();
                try (var ng = Autograd.noGrad()) {
                    Tensor g = w.grad();
                    w.sub_(g.mul(0.01));
                }
                w.zeroGrad();
            }
            if (i == 1000) {
                System.gc();
                rssAfterWarmup = rssKb();
            }
        }
        System.gc();
        long rssEnd = rssKb();
        assertEquals(base + 3, Tensor.liveCount(), "only w, x, y remain");
        w.close();
        x.close();
        y.close();
        assertEquals(base, Tensor.liveCount(), "back at the baseline");
        if (rssAfterWarmup > 0) {
            long growthKb = rssEnd - rssAfterWarmup;
            System.out.printf("RSS after 1000 steps %d KiB, after %d steps %d KiB (growth %d KiB)%n", rssAfterWarmup, steps, rssEnd, growthKb);
            assertTrue(growthKb < 32 * 1024, "RSS grew by " + growthKb + " KiB over " + (steps - 1000) + " steps");
        }
    }

    private static long rssKb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return 0;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        return 0;
    }
}
