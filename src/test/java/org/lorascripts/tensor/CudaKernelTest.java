package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What a run-time kernel does where it cannot run: it says why and is never used on the CPU. */
class CudaKernelTest {
    private static final CudaKernel K = new CudaKernel("noop", "extern \"C\" __global__ void noop() {}", "noop", List.of());

    @Test
    void aCpuDeviceNeverUsesAKernel() {
        assertFalse(K.usable(Device.CPU));
    }

    @Test
    void forcedOffSaysSoAndDisablesEveryKernel() {
        try {
            CudaKernel.setForcedOff(true);
            assertTrue(CudaKernel.unavailableReason().orElse("").contains("LORA_FUSED_KERNELS=0"));
            assertFalse(K.usable(Device.cuda(0)));
        } finally {
            CudaKernel.setForcedOff(false);
        }
    }

    @Test
    void withoutACudaBuildTheReasonNamesIt() {
        if (Cuda.isAvailable()) return;   // on a GPU machine the kernel tests cover the working path
        String why = CudaKernel.unavailableReason().orElse("");
        assertFalse(why.isEmpty(), "a CPU machine has no run-time kernels");
        assertFalse(K.usable(Device.cuda(0)));
    }

    @Test
    void blocksCoverTheItems() {
        assertTrue(CudaKernel.blocks(0, 256) == 1 && CudaKernel.blocks(256, 256) == 1 && CudaKernel.blocks(257, 256) == 2);
    }
}
