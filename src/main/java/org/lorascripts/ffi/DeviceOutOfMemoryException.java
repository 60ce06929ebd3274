package org.lorascripts.ffi;

/** The device (or host) ran out of memory. The message says what to lower. */
public class DeviceOutOfMemoryException extends RuntimeException {
    public static final String HINT = "lower batch_size or resolution (or max_seq_len), set mixed_precision: fp16 or bf16 "
            + "(use_fp16: true), or turn on gradient_checkpointing: true";

    private final String torchMessage;

    public DeviceOutOfMemoryException(String torchMessage) {
        // the CLI prints a last line starting "hint:" as its hint line
        super("out of device memory: " + shorten(torchMessage) + "\nhint: " + HINT);
        this.torchMessage = torchMessage;
    }

    public String torchMessage() { return torchMessage; }

    private static String shorten(String m) {
        int i = m.indexOf(". See documentation");
        return i > 0 ? m.substring(0, i) : m;
    }
}
