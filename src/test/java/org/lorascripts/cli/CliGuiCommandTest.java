package org.lorascripts.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./lora gui}'s start-up errors: one line, exit 2, no stack trace, and the server never left running. */
class CliGuiCommandTest {
    @Test
    void aMissingRootFolderIsOneLine() {
        CliTrainCommandTest.Run r = CliTrainCommandTest.run("gui", "--port", "0", "--root", "/nonexistent-gui-root");
        assertEquals(2, r.code(), r.err());
        assertEquals("error: root folder /nonexistent-gui-root does not exist; create it or leave out --root /nonexistent-gui-root",
                r.err().strip());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void aPortInUseIsOneLineThatSaysWhatToDo() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CliTrainCommandTest.Run r = CliTrainCommandTest.run("gui", "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().startsWith("error: cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
            assertTrue(r.err().strip().endsWith("choose another with --port N"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    @Test
    void aPortOutOfRangeIsRefused() {
        CliTrainCommandTest.Run r = CliTrainCommandTest.run("gui", "--port", "70000");
        assertEquals(2, r.code());
        assertEquals("error: --port must be in 0..65535, got 70000", r.err().strip());
    }
}
