package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The decisions of scripts/setup.sh (shared by ./lora and ./test.sh: what to install, when to stop
 * with which line) on simulated machines; the scenarios are in src/test/shell/setup-test.sh.
 */
class SetupScriptTest {
    @Test void setupScriptDecisions() throws Exception {
        Process p = new ProcessBuilder("bash", "src/test/shell/setup-test.sh").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "setup-test.sh did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("setup checks passed"), out);
    }
}
