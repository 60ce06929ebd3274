package org.lorascripts.tensor;

import org.lorascripts.ffi.AutogradApi;

/** libtorch's default random generators: seeding and state capture (for exact resume). */
public final class Rng {
    private Rng() {}

    /** Seeds the CPU generator and every CUDA device's. */
    public static void manualSeed(long seed) { AutogradApi.manualSeedAll(seed); }

    public static void manualSeed(Device d, long seed) { AutogradApi.manualSeed(d.type().code, d.index(), seed); }

    /** The generator state as a u8 tensor (caller owns it). */
    public static Tensor getState(Device d) { return Tensor.wrap(AutogradApi.rngGetState(d.type().code, d.index())); }

    public static void setState(Device d, Tensor state) { AutogradApi.rngSetState(d.type().code, d.index(), state.handle()); }
}
