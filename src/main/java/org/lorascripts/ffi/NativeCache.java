package org.lorascripts.ffi;

import java.nio.file.Path;

/** Where compiled native code and probe results are cached: $LORA_CACHE_DIR, $XDG_CACHE_HOME/lora-scripts or ~/.cache/lora-scripts. */
public final class NativeCache {
    private NativeCache() {}

    public static Path root() {
        String explicit = System.getenv("LORA_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) return Path.of(explicit);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "lora-scripts");
        return Path.of(System.getProperty("user.home"), ".cache", "lora-scripts");
    }
}
