package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.lorascripts.dist.DistEnv;
import org.lorascripts.dist.ProcessGroup;

/**
 * A 1-rank job (torchrun with one process) still runs the process group's collectives in every step, so it counts
 * as exchanging gradients (which keeps its steps out of CUDA graphs), while a plain run does not.
 */
class GradientSyncExchangeTest {
    @Test
    void aOneRankJobExchangesAndAPlainRunDoesNot() throws IOException {
        assertFalse(GradientSync.NONE.exchanges());
        assumeTrue(ProcessGroup.available(), "the native shim was built without c10d/gloo");
        int port;
        try (ServerSocket s = new ServerSocket(0)) { port = s.getLocalPort(); }
        try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", port, 1, 0, 0), ProcessGroup.Backend.GLOO, Duration.ofSeconds(30))) {
            DataParallel dp = new DataParallel(g);
            assertEquals(1, dp.worldSize());
            assertTrue(dp.exchanges());
        }
    }
}
