package org.lorascripts.train.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TransferProgressTest {
    @Test
    void plainLinesShowSizeSpeedAndEta() {
        AtomicLong now = new AtomicLong();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        TransferProgress p = new TransferProgress("download", 100L << 20, out, false, now::get, 5);
        now.set(2_000_000_000L);
        p.add(20L << 20);              // before the interval: no line
        now.set(5_000_000_000L);
        p.add(30L << 20);              // 50 MiB in 5 s: 10 MiB/s, 50 MiB left: 5 s
        now.set(10_000_000_000L);
        p.add(50L << 20);
        p.close();
        assertEquals("download 50.0/100.0 MiB (50.0%) 10.0 MiB/s eta 5s\n"
                + "download 100.0/100.0 MiB (100.0%) 10.0 MiB/s eta 0s\n"
                + "download 100.0/100.0 MiB (100.0%) 10.0 MiB/s eta 0s\n", buf.toString(StandardCharsets.UTF_8));
    }
}
