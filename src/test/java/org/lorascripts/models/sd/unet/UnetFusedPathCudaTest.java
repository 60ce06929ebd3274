package org.lorascripts.models.sd.unet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.blocks.Upsample2D;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Profiler;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * CUDA only (skipped elsewhere): the UNet's training step under fp16 autocast takes the memory-lean paths. Every
 * norm of the transformer blocks and resnets runs as a fused kernel (the plain layer norm under autocast keeps
 * float32 copies, and it is what a transposed sequence view silently falls back to), and the upsampler runs in
 * the activations' dtype with no cast (autocast would upsample in float32 and cast back).
 */
class UnetFusedPathCudaTest {
    private static final Device DEV = Device.cuda(0);

    static UNetConfig config() {
        return new UNetConfig(4, 4, 16, List.of(32, 64), 1, List.of(4, 4), List.of(UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP), 64, 1, false, 8, 1e-5, false, UNetConfig.Prediction.EPSILON);
    }

    private static Set<String> ops(List<Profiler.Event> events) {
        Set<String> names = new TreeSet<>();
        for (Profiler.Event e : events) if (!e.onGpu()) names.add(e.name());
        return names;
    }

    @Test
    void normsRunFusedInTheTrainingStep() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assertEquals("", CudaKernel.unavailableReason().orElse(""), "run-time kernels must work on a CUDA machine");
        for (boolean ckpt : new boolean[] {false, true}) {
            try (Scope s = Scope.open();
                 UNet2DConditionModel unet = UNet2DConditionModel.load(config(), new RandomWeights(0).onDevice(), DEV, DType.F16);
                 LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(4, 4), DEV)) {
                unet.setGradientCheckpointing(ckpt);
                lora.setTraining(true);
                Tensor lat = Torch.randn(new long[] {2, 4, 16, 16}, DType.F16, DEV);
                Tensor t = Torch.randint(0, 1000, new long[] {2}, DEV);
                Tensor ctx = Torch.randn(new long[] {2, 7, 64}, DType.F16, DEV);
                List<Profiler.Event> ev;
                try (Profiler p = Profiler.start(false)) {
                    try (Autocast ac = Autocast.enable(Device.Type.CUDA, DType.F16)) {
                        unet.forward(lat, t, ctx).to(DType.F32).pow(2).mean().backward();
                    }
                    Cuda.synchronize(0);
                    ev = p.stop(null);
                }
                Set<String> names = ops(ev);
                assertTrue(names.contains("aten::scaled_dot_product_attention") || names.stream().anyMatch(n -> n.contains("attention")),
                        "the profile saw the transformer blocks: " + names);
                for (String plain : List.of("aten::layer_norm", "aten::native_layer_norm", "aten::group_norm", "aten::native_group_norm")) {
                    assertTrue(!names.contains(plain), "ckpt=" + ckpt + ": " + plain + " ran (a norm fell back to the plain path)");
                }
                assertTrue(lora.trainableParameters().stream().allMatch(p -> p.tensor().grad() != null), "every adapter got a gradient");
            }
        }
    }

    @Test
    void upsamplingKeepsTheActivationsDtype() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(3), DEV, DType.F16)) {
            Upsample2D up = new Upsample2D(w.pp("up"), 8);
            Tensor x = Torch.randn(new long[] {2, 8, 5, 6}, DType.F16, DEV);
            Tensor plain = up.forward(x, null);
            List<Profiler.Event> ev;
            Tensor y;
            try (Profiler p = Profiler.start(false)) {
                try (Autocast ac = Autocast.enable(Device.Type.CUDA, DType.F16)) {
                    y = up.forward(x, null);
                }
                Cuda.synchronize(0);
                ev = p.stop(null);
            }
            assertEquals(DType.F16, y.dtype());
            assertEquals(0.0, Functional.mseLoss(y.to(DType.F32), plain.to(DType.F32), Functional.Reduction.SUM).item(),
                    "nearest upsampling in fp16 is exact: the same as without autocast");
            Set<String> names = ops(ev);
            assertTrue(names.contains("aten::upsample_nearest2d"), names.toString());
            assertTrue(!names.contains("aten::_to_copy"), "no dtype round trip: " + names);
        }
    }
}
