package org.lorascripts.text;

/**
 * System properties DJL reads when its classes load; every class that uses DJL's tokenizers calls
 * {@link #apply()} in its static initialiser. Offline mode (the native library ships in the jar,
 * nothing is downloaded), no usage telemetry, and DJL's CUDA probe moved to a child process: done
 * in our process, its own JNA binding of cudart broke libtorch's CUDA state ("invalid resource
 * handle" on the next kernel launch).
 */
public final class DjlSettings {
    private DjlSettings() {}

    public static void apply() {
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.util.cuda.fork", "true");
    }
}
