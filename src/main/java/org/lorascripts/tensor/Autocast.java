package org.lorascripts.tensor;

import org.lorascripts.ffi.AutogradApi;

/**
 * Mixed-precision region, as {@code torch.autocast}: matmuls and convolutions run in the low-precision
 * dtype, reductions and norms stay in fp32. fp16 and bf16 on CUDA; bf16 on the CPU. Thread-local.
 */
public final class Autocast implements AutoCloseable {
    private final Device.Type type;
    private final boolean prevEnabled;
    private final int prevDType;
    private boolean closed;

    private Autocast(Device.Type type, DType dt) {
        if (dt != DType.F16 && dt != DType.BF16) throw new IllegalArgumentException("autocast dtype must be f16 or bf16, got " + dt.displayName());
        if (type == Device.Type.CPU && dt == DType.F16) {
            throw new IllegalArgumentException("fp16 autocast is not supported on the CPU; use mixed_precision: bf16 or run on a CUDA device");
        }
        this.type = type;
        int[] st = AutogradApi.autocastState(type.code);
        prevEnabled = st[0] != 0;
        prevDType = st[1];
        AutogradApi.autocastSet(type.code, true, dt.code);
        AutogradApi.autocastIncrementNesting();
    }

    // a region with autocast off on that device type (torch.autocast(enabled=False))
    private Autocast(Device.Type type) {
        this.type = type;
        int[] st = AutogradApi.autocastState(type.code);
        prevEnabled = st[0] != 0;
        prevDType = st[1];
        AutogradApi.autocastSet(type.code, false, st[1]);
        AutogradApi.autocastIncrementNesting();
    }

    public static Autocast enable(Device.Type type, DType dt) { return new Autocast(type, dt); }

    /**
     * A region where autocast is off on that device type, restored on close: for an op autocast would run in
     * float32 where the input's own dtype is exact (nearest-neighbour upsampling only copies values).
     */
    public static Autocast suspend(Device.Type type) { return new Autocast(type); }

    public static boolean isEnabled(Device.Type type) { return AutogradApi.autocastState(type.code)[0] != 0; }

    /** The dtype autocast computes in on that device type, or null when it is off. */
    public static DType dtype(Device.Type type) {
        int[] s = AutogradApi.autocastState(type.code);
        return s[0] != 0 ? DType.fromCode(s[1]) : null;
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        AutogradApi.autocastDecrementNesting();
        AutogradApi.autocastSet(type.code, prevEnabled, prevDType);
    }
}
