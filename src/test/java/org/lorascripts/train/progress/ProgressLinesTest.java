package org.lorascripts.train.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressLinesTest {

    @Test
    void etaFormatting() {
        assertEquals("0s", EtaFormat.seconds(0));
        assertEquals("59s", EtaFormat.seconds(59.4));
        assertEquals("1m00s", EtaFormat.seconds(59.6));
        assertEquals("4m05s", EtaFormat.seconds(245));
        assertEquals("59m59s", EtaFormat.seconds(3599));
        assertEquals("1:00:00", EtaFormat.seconds(3600));
        assertEquals("1:02:03", EtaFormat.seconds(3723));
        assertEquals("27:00:00", EtaFormat.seconds(27 * 3600));
        assertEquals("?", EtaFormat.seconds(Double.NaN));
        assertEquals("?", EtaFormat.seconds(Double.POSITIVE_INFINITY));
        assertEquals("?", EtaFormat.seconds(-1));
    }

    @Test
    void plainModePrintsEveryIntervalAndTheLastStep() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (PlainLineProgress p = new PlainLineProgress(25, 10, out, clock::get)) {
            for (int step = 1; step <= 25; step++) {
                clock.set(step * 500_000_000L);   // one step every 0.5 s -> 2 it/s
                p.update(step, 0.5, 1e-4);
            }
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(List.of(
                "step 10/25 (40.0%) loss 0.5000 lr 1.00e-04 2.00 it/s eta 8s",
                "step 20/25 (80.0%) loss 0.5000 lr 1.00e-04 2.00 it/s eta 3s",
                "step 25/25 (100.0%) loss 0.5000 lr 1.00e-04 2.00 it/s eta 0s"), lines);
    }

    @Test
    void slowStepsShowSecondsPerIterationAndLongEta() {
        AtomicLong clock = new AtomicLong();
        ProgressStats s = new ProgressStats(1000, clock::get);
        s.update(1, 1.0, 1e-4);
        clock.set(30_000_000_000L);   // 10 more steps in 30 s
        s.update(11, 1.0, 1e-4);
        assertEquals("3.00 s/it", s.rateText());
        assertEquals("49m27s", EtaFormat.seconds(s.etaSeconds()));   // 989 steps left * 3 s = 2967 s
    }

    @Test
    void rateIsUnknownUntilTwoStepsWereSeen() {
        ProgressStats s = new ProgressStats(10, () -> 0L);
        s.update(1, 0.3, 1e-4);
        assertEquals("? it/s", s.rateText());
        assertEquals("?", EtaFormat.seconds(s.etaSeconds()));
    }

    @Test
    void smoothedLossIsBiasCorrectedEma() {
        ProgressStats s = new ProgressStats(10, () -> 0L);
        s.update(1, 1.0, 0);
        assertEquals(1.0, s.smoothedLoss(), 1e-12);   // not 0.1: bias correction
        s.update(2, 0.0, 0);
        // ema = 0.9 * 0.1 + 0 = 0.09; corrected by 1 - 0.81 = 0.19
        assertEquals(0.09 / 0.19, s.smoothedLoss(), 1e-12);
    }
}
