package org.lorascripts.train;

/** Where a task's samples go: the TensorBoard log and {@code output_dir/samples/}. */
public interface SampleSink {
    /** An encoded PNG of {@code width} x {@code height} pixels. */
    void image(String tag, byte[] png, int width, int height);

    void text(String tag, String text);
}
