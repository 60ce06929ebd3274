package org.lorascripts.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * 4-bit NormalFloat (NF4) weights as bitsandbytes stores them for QLoRA ({@code quantize_4bit(w,
 * blocksize=64, quant_type="nf4", compress_statistics=True)}, {@code Linear4bit}'s default):
 * <ul>
 * <li>the weight, flattened row-major, in blocks of {@link #BLOCK} elements (a last partial block
 * too), each with its absmax (float32; a partial last block's clamped to at least 1e-38);</li>
 * <li>each element scaled by 1/absmax, clamped to [-1, 1] and coded as the index of the nearest of
 * the 16 NF4 values ({@link #code()}), ties to the lower one;</li>
 * <li>two codes per byte, the even element in the high nibble ({@code (q[2i] << 4) | q[2i+1]}),
 * an odd count padded with code 7 (zero);</li>
 * <li>double quantisation of the absmax values ({@code nested_*} in bnb's QuantState):
 * offset = mean(absmax), then absmax - offset as uint8 codes into the signed 8-bit dynamic map
 * ({@link #dynamicMap()}) with one float32 absmax per {@link #NESTED_BLOCK} values.</li>
 * </ul>
 * About 0.516 bytes a parameter (0.5 for the codes, 1/64 for the absmax codes, 4/16384 for their scales).
 * The rounding is bitsandbytes' torch kernels' ({@code backends/default/ops.py}: bucketize over
 * float32 midpoints), which its CUDA kernels match; {@code tools/nf4_reference.py} makes the numbers
 * {@code Nf4Test} checks. Quantising and dequantising are composed from tensor ops here and run on any
 * device; on CUDA {@link #dequantize} runs as one run-time compiled kernel with the same float32 roundings
 * ({@code FusedOpsCudaTest} holds the two bit for bit).
 */
public final class Nf4 {
    public static final int BLOCK = 64;
    public static final int NESTED_BLOCK = 256;

    private Nf4() {}

    /** bitsandbytes' NF4 values ({@code get_4bit_type("nf4")}, from {@code create_normal_map(0.9677083)}), sorted. */
    private static final float[] NF4 = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

    private static final float[] DYNAMIC = buildDynamicMap();

    /** A quantised weight: packed codes (uint8), absmax codes (uint8), their scales (float32), offset (float32, 1 value). */
    public record Quantized(Tensor packed, Tensor absmaxCodes, Tensor absmaxScales, Tensor offset, long[] shape) implements AutoCloseable {
        public Quantized {
            shape = shape.clone();
        }

        public long numel() { return Arrays.stream(shape).reduce(1, (a, b) -> a * b); }

        /** Bytes held on the device. */
        public long bytes() { return packed.numel() + absmaxCodes.numel() + 4 * absmaxScales.numel() + 4 * offset.numel(); }

        public List<Tensor> tensors() { return List.of(packed, absmaxCodes, absmaxScales, offset); }

        @Override public long[] shape() { return shape.clone(); }

        @Override public void close() { for (Tensor t : tensors()) t.close(); }
    }

    /** Bytes a weight of {@code n} elements takes as NF4 with double quantisation. */
    public static long bytes(long n) {
        long blocks = ceilDiv(n, BLOCK);
        return ceilDiv(n, 2) + blocks + 4 * ceilDiv(blocks, NESTED_BLOCK) + 4;
    }

    /** The 16 NF4 values. */
    public static float[] code() { return NF4.clone(); }

    /**
     * bitsandbytes' signed dynamic map ({@code create_dynamic_map(signed=True)}: 7 exponent bits of 8):
     * for k = 0..6, the midpoints of an even float32 split of [0.1, 1] into 2^k parts times 10^(k-6),
     * each also negated, then 0 and 1; 256 values, sorted.
     */
    public static float[] dynamicMap() { return DYNAMIC.clone(); }

    private static float[] buildDynamicMap() {
        float[] r = new float[256];
        int k = 0;
        for (int i = 0; i < 7; i++) {
            int items = (1 << i) + 1;
            float[] b = new float[items];
            for (int j = 0; j < items; j++) b[j] = linspace(0.1f, 1f, items, j);
            float scale = (float) Math.pow(10, -6 + i);
            for (int j = 0; j + 1 < items; j++) {
                float mean = (b[j] + b[j + 1]) / 2f;
                r[k++] = scale * mean;
                r[k++] = -scale * mean;
            }
        }
        r[k++] = 0f;
        r[k++] = 1f;
        if (k != 256) throw new IllegalStateException("dynamic map has " + k + " values");
        Arrays.sort(r);
        return r;
    }

    /**
     * torch.linspace's float32 value at index j on the CPU: a float32 step, start + step * j from the
     * front and end - step * (steps - 1 - j) from the back half, each as one fused multiply-add (its
     * vectorised kernel; a separate multiply and add differs in the last bit for 9 or more steps).
     */
    private static float linspace(float start, float end, int steps, int j) {
        float step = (end - start) / (steps - 1);
        int half = steps / 2;
        return j < half ? Math.fma(step, (float) j, start) : Math.fma(-step, (float) (steps - j - 1), end);
    }

    /** Lookup tables per device: NF4 values and midpoints, the byte -> (high, low) value pairs, the dynamic map and midpoints. */
    private record Tables(Tensor nf4Mid, Tensor pairs, Tensor dynamic, Tensor dynamicMid) {}

    private static final Map<Device, Tables> TABLES = new ConcurrentHashMap<>();

    private static Tables tables(Device d) {
        return TABLES.computeIfAbsent(d, dev -> {
            try (var ng = Autograd.noGrad()) {
                float[] pairs = new float[512];
                for (int b = 0; b < 256; b++) {
                    pairs[2 * b] = NF4[b >> 4];
                    pairs[2 * b + 1] = NF4[b & 15];
                }
                Tensor nf4 = Torch.of(NF4, 16).to(dev);
                Tensor dyn = Torch.of(DYNAMIC, 256).to(dev);
                return new Tables(midpoints(nf4).keep(), Torch.of(pairs, 256, 2).to(dev).keep(), dyn.keep(), midpoints(dyn).keep());
            }
        });
    }

    /** (map[k] + map[k+1]) / 2 in float32: the rounding boundaries. */
    private static Tensor midpoints(Tensor map) {
        long n = map.numel();
        return map.narrow(0, 0, n - 1).add(map.narrow(0, 1, n - 1)).div(2);
    }

    /**
     * Quantises a float tensor (any shape, any float dtype; typically a linear layer's (out, in)
     * weight). The result's tensors are new, on the weight's device, owned by the current scope
     * (call {@code keep()} on them to hold them beyond it).
     */
    public static Quantized quantize(Tensor weight) {
        if (!weight.dtype().isFloatingPoint()) throw new IllegalArgumentException("NF4 quantises float weights, got " + weight.dtype());
        Tables t = tables(weight.device());
        try (var ng = Autograd.noGrad()) {
            Tensor flat = weight.to(DType.F32).reshape(-1);
            Tensor[] sa = scaleBlocks(flat, BLOCK);
            Tensor scaled = sa[0], absmax = sa[1];
            if (scaled.numel() % 2 != 0) scaled = Torch.cat(List.of(scaled, Torch.zeros(new long[] {1}, DType.F32, weight.device())), 0);
            Tensor q = scaled.bucketize(t.nf4Mid(), false).view(-1, 2);                            // int64 codes 0..15
            Tensor packed = q.select(1, 0).mul(16).add(q.select(1, 1)).to(DType.U8);
            // double quantisation of the absmax values
            Tensor offset = absmax.mean().reshape(1);
            Tensor[] sa2 = scaleBlocks(absmax.sub(offset), NESTED_BLOCK);
            Tensor codes = sa2[0].bucketize(t.dynamicMid(), false).to(DType.U8);
            return new Quantized(packed, codes, sa2[1], offset, weight.shape());
        }
    }

    /**
     * bitsandbytes' block scaling: per block the absmax and clamp(x * (1 / max(absmax, 1e-38)), -1, 1);
     * a last partial block divides by its absmax, which is clamped to 1e-38 before it is stored.
     */
    private static Tensor[] scaleBlocks(Tensor flat, int block) {
        long n = flat.numel(), rem = n % block, full = n - rem;
        Tensor scaled = null, absmax = null;
        if (full > 0) {
            Tensor com = flat.narrow(0, 0, full).view(full / block, block);
            absmax = com.abs().amax(new long[] {1}, false);
            scaled = com.mul(absmax.clampMin(1e-38).reciprocal().unsqueeze(1)).clamp(-1, 1).reshape(-1);
        }
        if (rem > 0) {
            Tensor tail = flat.narrow(0, full, rem);
            Tensor am = tail.abs().amax().clampMin(1e-38).reshape(1);
            Tensor st = tail.div(am).clamp(-1, 1);
            absmax = absmax == null ? am : Torch.cat(List.of(absmax, am), 0);
            scaled = scaled == null ? st : Torch.cat(List.of(scaled, st), 0);
        }
        return new Tensor[] {scaled, absmax};
    }

    /** values (n) times one scale per block of {@code block} (a last partial block too), in float32. */
    private static Tensor scaleBack(Tensor values, Tensor scales, int block) {
        long n = values.numel(), rem = n % block, full = n - rem;
        Tensor head = full == 0 ? null
                : values.narrow(0, 0, full).view(full / block, block).mul(scales.narrow(0, 0, full / block).unsqueeze(1)).reshape(-1);
        if (rem == 0) return head;
        Tensor tail = values.narrow(0, full, rem).mul(scales.narrow(0, full / block, 1));
        return head == null ? tail : Torch.cat(List.of(head, tail), 0);
    }

    /** The per-64 absmax values (float32) the nested state stands for: dynamic[codes] * scale + offset. */
    public static Tensor absmax(Quantized q) {
        Tables t = tables(q.packed().device());
        try (var ng = Autograd.noGrad()) {
            return scaleBack(t.dynamic().indexSelect(0, q.absmaxCodes().to(DType.I64)), q.absmaxScales(), NESTED_BLOCK).add(q.offset());
        }
    }

    /**
     * The weight in {@code dtype}: NF4[code] * absmax in float32, then cast (bitsandbytes'
     * dequantize_4bit). New tensor in the current scope; no autograd history.
     */
    public static Tensor dequantize(Quantized q, DType dtype) {
        Tables t = tables(q.packed().device());
        try (var ng = Autograd.noGrad()) {
            CudaKernel k = q.packed().device().type() == Device.Type.CUDA ? FusedOps.kernel(DEQUANT_SOURCE, "nf4_dequant", dtype) : null;
            if (k != null && k.usable(q.packed().device())) {
                Tensor out = Torch.empty(q.shape(), dtype, q.packed().device());
                long n = q.numel(), bytes = q.packed().numel();
                k.launch(q.packed().device(), new long[] {CudaKernel.blocks(bytes, 256), 1, 1}, new long[] {256, 1, 1}, 0,
                        q.packed(), q.absmaxCodes(), q.absmaxScales(), q.offset(), t.dynamic(), t.pairs(), out, n);
                return out;
            }
            Tensor values = t.pairs().indexSelect(0, q.packed().to(DType.I64)).reshape(-1);      // 2 values per byte
            long n = q.numel();
            if (values.numel() != n) values = values.narrow(0, 0, n);
            Tensor w = scaleBack(values, absmax(q), BLOCK).view(q.shape());
            return dtype == DType.F32 ? w : w.to(dtype);
        }
    }

    /**
     * {@link #dequantize} as one CUDA kernel: a thread per packed byte reads its two codes, the block's
     * nested absmax ({@code dynamic[code] * scale + offset}) and writes both values in the compute dtype,
     * with the composition's float32 roundings (no fused multiply-add).
     */
    private static final String DEQUANT_SOURCE = FusedOps.PRELUDE + """
            extern "C" __global__ void nf4_dequant(const unsigned char* packed, const unsigned char* codes, const float* scales,
                                                   const float* offset, const float* dyn, const float* pairs, T* out, long n) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              long e = 2 * i;
              if (e >= n) return;
              unsigned b = packed[i];
              long blk = e / 64;
              float am = __fadd_rn(__fmul_rn(dyn[codes[blk]], scales[blk / 256]), offset[0]);
              out[e] = st(__fmul_rn(pairs[2 * b], am));
              if (e + 1 < n) out[e + 1] = st(__fmul_rn(pairs[2 * b + 1], am));
            }
            """;

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }
}
