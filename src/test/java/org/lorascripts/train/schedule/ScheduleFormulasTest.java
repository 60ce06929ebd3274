package org.lorascripts.train.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Each curve at warmup start/end, midpoint and last step, against values worked out from the HF
 * transformers lambdas (optimization.py) by hand: e.g. cosine at 99% progress is
 * 0.5 * (1 + cos(0.99 pi)) = sin^2(0.005 pi) = 0.00024672.
 */
class ScheduleFormulasTest {
    private static final double EPS = 1e-12;

    @Test
    void constantIgnoresStep() {
        LrSchedule s = new ConstantSchedule(2.0);
        assertEquals(2.0, s.lr(0));
        assertEquals(2.0, s.lr(1_000_000));
    }

    @Test
    void constantWithWarmup() {
        LrSchedule s = new ConstantWithWarmupSchedule(2.0, 4);
        assertEquals(0.0, s.lr(0), EPS);     // first optimizer step runs at lr 0, as in HF
        assertEquals(0.5, s.lr(1), EPS);
        assertEquals(1.5, s.lr(3), EPS);
        assertEquals(2.0, s.lr(4), EPS);
        assertEquals(2.0, s.lr(10_000), EPS);
    }

    @Test
    void linearWithWarmup() {
        LrSchedule s = new LinearSchedule(1.0, 10, 110);
        assertEquals(0.0, s.lr(0), EPS);
        assertEquals(0.5, s.lr(5), EPS);
        assertEquals(0.9, s.lr(9), EPS);
        assertEquals(1.0, s.lr(10), EPS);    // (110 - 10) / 100
        assertEquals(0.5, s.lr(60), EPS);    // midpoint of the decay
        assertEquals(0.01, s.lr(109), EPS);  // last step: 1 / 100
        assertEquals(0.0, s.lr(110), EPS);
        assertEquals(0.0, s.lr(500), EPS);   // clamped at 0
    }

    @Test
    void linearWithoutWarmupStartsAtBase() {
        assertEquals(3e-4, new LinearSchedule(3e-4, 0, 10).lr(0), EPS);
        assertEquals(3e-5, new LinearSchedule(3e-4, 0, 10).lr(9), EPS);
    }

    @Test
    void cosineWithWarmup() {
        LrSchedule s = new CosineSchedule(1.0, 10, 110, 0.5);
        assertEquals(0.0, s.lr(0), EPS);
        assertEquals(0.9, s.lr(9), EPS);
        assertEquals(1.0, s.lr(10), EPS);
        assertEquals(0.8535533905932737, s.lr(35), EPS);   // 0.5 * (1 + cos(pi/4))
        assertEquals(0.5, s.lr(60), EPS);                  // 0.5 * (1 + cos(pi/2))
        assertEquals(0.0002467198171342, s.lr(109), EPS);  // sin^2(0.005 pi)
        assertEquals(0.0, s.lr(110), EPS);
        // HF does not clamp past the end: progress 1.5 gives 0.5 * (1 + cos(1.5 pi)) = 0.5.
        assertEquals(0.5, s.lr(160), EPS);
    }

    @Test
    void cosineScalesWithBaseLr() {
        assertEquals(1e-4 * 0.5, new CosineSchedule(1e-4, 0, 100, 0.5).lr(50), 1e-18);
    }

    @Test
    void cosineWithRestartsCycleBoundaries() {
        // 90 steps, 3 cycles of 30 steps, no warmup.
        LrSchedule s = new CosineWithRestartsSchedule(1.0, 0, 90, 3);
        assertEquals(1.0, s.lr(0), EPS);
        assertEquals(0.5, s.lr(15), EPS);                    // mid-cycle
        assertEquals(0.0027390523158632996, s.lr(29), EPS);  // sin^2(pi / 60), end of cycle 1
        assertEquals(1.0, s.lr(30), EPS);                    // hard restart
        assertEquals(0.9972609476841368, s.lr(31), EPS);     // cos^2(pi / 60)
        assertEquals(1.0, s.lr(60), EPS);                    // second restart
        assertEquals(0.0027390523158632996, s.lr(89), EPS);  // last step
        assertEquals(0.0, s.lr(90), EPS);                    // progress >= 1
        assertEquals(0.0, s.lr(1000), EPS);
    }

    @Test
    void cosineWithRestartsAfterWarmup() {
        // Warmup 10, then 90 steps in 2 cycles of 45.
        LrSchedule s = new CosineWithRestartsSchedule(1.0, 10, 100, 2);
        assertEquals(0.5, s.lr(5), EPS);
        assertEquals(1.0, s.lr(10), EPS);
        assertEquals(1.0, s.lr(55), EPS);                     // restart at progress 0.5
        assertEquals(0.9987820251299122, s.lr(56), EPS);      // cos^2(pi / 90)
        assertEquals(0.0012179748700878457, s.lr(99), EPS);   // sin^2(pi / 90)
        assertEquals(0.0, s.lr(100), EPS);
    }

    @Test
    void polynomialPowerTwo() {
        LrSchedule s = new PolynomialSchedule(1e-3, 10, 110, 1e-7, 2.0);
        assertEquals(0.0, s.lr(0), EPS);
        assertEquals(5e-4, s.lr(5), EPS);
        assertEquals(1e-3, s.lr(10), EPS);
        // (1e-3 - 1e-7) * 0.5^2 + 1e-7
        assertEquals(0.000250075, s.lr(60), 1e-15);
        // (1e-3 - 1e-7) * 0.01^2 + 1e-7
        assertEquals(1.9999e-7, s.lr(109), 1e-15);
        assertEquals(1e-7, s.lr(110), 1e-18);   // end value
        assertEquals(1e-7, s.lr(111), 1e-18);   // stays there
    }

    @Test
    void polynomialPowerOneIsLinearToLrEnd() {
        LrSchedule s = new PolynomialSchedule(1e-3, 10, 110, 1e-7, 1.0);
        assertEquals(0.00050005, s.lr(60), 1e-15);   // (1e-3 - 1e-7) * 0.5 + 1e-7
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new PolynomialSchedule(1e-8, 0, 10, 1e-7, 1));
        assertThrows(IllegalArgumentException.class, () -> new PolynomialSchedule(1e-3, 10, 10, 1e-7, 1));
        assertThrows(IllegalArgumentException.class, () -> new LinearSchedule(1e-3, 20, 10));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1e-3, 0, 0, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new CosineWithRestartsSchedule(1e-3, 0, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new ConstantWithWarmupSchedule(Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> new ConstantWithWarmupSchedule(1e-3, -1));
    }
}
