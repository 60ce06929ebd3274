package org.lorascripts.tensor;

/**
 * A stable live-tensor count for leak tests: tensors orphaned by earlier tests are freed by the
 * Cleaner whenever the GC finds them, which would otherwise move the count under a test's feet.
 */
public final class LiveTensors {
    private LiveTensors() {}

    /** Collects garbage until the count stops changing (at most about a second), then returns it. */
    public static long settle() {
        long last = -1;
        int stable = 0;
        for (int i = 0; i < 50 && stable < 3; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = Tensor.liveCount();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }
        return Tensor.liveCount();
    }
}
