package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Profiler;

class StepProfileTest {
    @Test
    void kernelNamesFallIntoTheirKinds() {
        assertEquals("gemm", StepProfile.category("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64"));
        assertEquals("gemm", StepProfile.category("nvjet_tst_192x192_64x4_2x1_v_bz_coopB_TNT"));
        assertEquals("attention", StepProfile.category("pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128>>"));
        assertEquals("attention", StepProfile.category("fmha_cutlassB_f16_aligned_64x64_k64_sm80"));
        assertEquals("conv", StepProfile.category("sm80_xmma_fprop_implicit_gemm_f16f16_f16f32_f32_nhwckrsc_nhwc"));
        assertEquals("norm", StepProfile.category("void at::native::(anonymous namespace)::RowwiseMomentsCUDAKernel<float> group_norm"));
        assertEquals("softmax_ce", StepProfile.category("void at::native::(anonymous namespace)::cunn_SoftMaxForward<4>"));
        assertEquals("optimizer", StepProfile.category("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<FusedAdamMathFunctor>"));
        assertEquals("copy_cast", StepProfile.category("Memcpy HtoD (Pageable -> Device)"));
        assertEquals("elementwise", StepProfile.category("void at::native::vectorized_elementwise_kernel<4, at::native::silu_kernel>"));
        assertEquals("other", StepProfile.category("some_custom_kernel"));
    }

    @Test
    void perStepTimesBusyShareAndCountsComeFromTheEvents() {
        // two steps; GPU spans [0,10) [5,15) [20,30) ns*1e6 -> union 25 of 30 ms, one CPU op per step
        List<Profiler.Event> ev = List.of(
                new Profiler.Event("aten::mm", 0, 0, 0, 1_000_000),
                new Profiler.Event("aten::mm", 0, 0, 1, 1_000_000),
                new Profiler.Event("cudaLaunchKernel", 0, 0, 1, 10),
                new Profiler.Event("ampere_bf16_gemm", 1, 4, 0, 10_000_000),
                new Profiler.Event("vectorized_elementwise_kernel", 1, 4, 5_000_000, 10_000_000),
                new Profiler.Event("ampere_bf16_gemm", 1, 4, 20_000_000, 10_000_000));
        StepProfile.Summary s = StepProfile.summarise("x", ev, 2);
        assertEquals(15.0, s.gpuMsPerStep(), 1e-9);
        assertEquals(25.0 / 30.0, s.busyFraction(), 1e-9);
        assertEquals(1.5, s.kernelsPerStep(), 1e-9);
        assertEquals(1.0, s.cpuOpsPerStep(), 1e-9);
        assertEquals(10.0, s.msPerStep().get("gemm"), 1e-9);
        assertEquals(5.0, s.msPerStep().get("elementwise"), 1e-9);
        assertEquals("ampere_bf16_gemm", s.topKernels().get(0).getKey());
    }
}
