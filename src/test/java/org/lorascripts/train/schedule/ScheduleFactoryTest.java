package org.lorascripts.train.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ScheduleFactoryTest {

    @Test
    void createsEachNamedSchedule() {
        assertInstanceOf(ConstantSchedule.class, LrSchedules.create("constant", 1e-4, 10, 100, 1, 1));
        assertInstanceOf(ConstantWithWarmupSchedule.class, LrSchedules.create("constant_with_warmup", 1e-4, 10, 100, 1, 1));
        assertInstanceOf(LinearSchedule.class, LrSchedules.create("linear", 1e-4, 10, 100, 1, 1));
        assertInstanceOf(CosineSchedule.class, LrSchedules.create("cosine", 1e-4, 10, 100, 1, 1));
        assertInstanceOf(CosineWithRestartsSchedule.class, LrSchedules.create("cosine_with_restarts", 1e-4, 10, 100, 3, 1));
        assertInstanceOf(PolynomialSchedule.class, LrSchedules.create("polynomial", 1e-4, 10, 100, 1, 2));
    }

    @Test
    void constantIgnoresWarmupAsHfGetSchedulerDoes() {
        assertEquals(1e-4, LrSchedules.create("constant", 1e-4, 10, 100, 1, 1).lr(0));
    }

    @Test
    void cosineUsesHalfWaveWhateverNumCycles() {
        // get_scheduler passes num_cycles only to cosine_with_restarts; plain cosine keeps 0.5.
        LrSchedule s = LrSchedules.create("cosine", 1.0, 0, 100, 4, 1);
        assertEquals(0.5, s.lr(50), 1e-12);
        assertEquals(0.0, s.lr(100), 1e-12);
    }

    @Test
    void passesCyclesAndPower() {
        assertEquals(1.0, LrSchedules.create("cosine_with_restarts", 1.0, 0, 90, 3, 1).lr(30), 1e-12);
        assertEquals(0.25 * (1.0 - 1e-7) + 1e-7, LrSchedules.create("polynomial", 1.0, 0, 100, 1, 2).lr(50), 1e-12);
    }

    @Test
    void unknownNameListsValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LrSchedules.create("cosine_annealing", 1e-4, 0, 100, 1, 1));
        assertTrue(e.getMessage().contains("'cosine_annealing'"), e.getMessage());
        for (String name : LrSchedules.NAMES) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }
}
