package org.lorascripts.tensor;

/**
 * The environment variables that turn an optimised path off, to measure what it gives (LORA_FUSED_KERNELS=0,
 * LORA_GQA_ATTENTION=0, LORA_CE_KERNEL=0, LORA_REBUILD=0, LORA_PREFETCH=0).
 */
public final class EnvSwitch {
    private EnvSwitch() {}

    /** Whether the variable {@code name} is set to 0, false or off. */
    public static boolean off(String name) {
        String v = System.getenv(name);
        return v != null && (v.equals("0") || v.equalsIgnoreCase("false") || v.equalsIgnoreCase("off"));
    }
}
