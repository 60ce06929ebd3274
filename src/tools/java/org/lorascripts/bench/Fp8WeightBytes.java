package org.lorascripts.bench;

import java.util.Locale;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.nn.Fp8Weight;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * The bytes of a full-size UNet's weights in fp16 and with {@code fp8_base}, built on the CPU with random weights
 * (libtorch 2.1 or newer for fp8): dense tensors at their size, each fp8 layer's weight at one byte a value plus a
 * float32 scale per output channel. Usage: {@code Fp8WeightBytes [sd15|sdxl]}.
 */
public final class Fp8WeightBytes {
    private Fp8WeightBytes() {}

    public static void main(String[] args) {
        String name = args.length > 0 ? args[0] : "sdxl";
        UNetConfig c = name.equals("sdxl") ? UNetConfig.sdxl() : UNetConfig.sd15();
        for (boolean fp8 : new boolean[] {false, true}) {
            try (UNet2DConditionModel u = UNet2DConditionModel.load(c, new RandomWeights(0), Device.CPU, DType.F16, fp8)) {
                long bytes = 0;
                int quantized = 0;
                for (Tensor t : u.parameters().values()) bytes += t.numel() * t.dtype().byteSize;   // dense ones only
                for (LoraHost h : u.loraHosts().values()) {
                    if (!h.quantized()) continue;
                    quantized++;
                    bytes += Fp8Weight.bytes(h.weightShape());
                }
                System.out.printf(Locale.ROOT, "%s fp8_base=%s: %d of %d linear/conv layers fp8, weights %.3f GiB%n",
                        name, fp8, quantized, u.loraHosts().size(), bytes / (double) (1L << 30));
            }
        }
    }
}
