package org.lorascripts.models.llm;

import org.lorascripts.nn.FusedOps;

import java.util.List;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Rotary position embeddings as transformers computes them (rotate_half form): inverse
 * frequencies and cos/sin in fp32, cast to the activations' dtype only at the end.
 * Reference: transformers/models/llama/modeling_llama.py (LlamaRotaryEmbedding, rotate_half,
 * apply_rotary_pos_emb) and transformers/modeling_rope_utils.py (_compute_default_rope_parameters,
 * _compute_linear_scaling_rope_parameters, _compute_llama3_parameters).
 */
public final class RotaryEmbedding implements AutoCloseable {
    private final Tensor invFreq;   // (D/2) f32

    public RotaryEmbedding(LlmConfig.Rope rope, long headDim, Device device) {
        try (Scope s = Scope.open()) {
            invFreq = inverseFrequencies(rope, headDim).to(DType.F32, device).keep();
        }
    }

    /** inv_freq (D/2), f32 on the CPU, for the rope type. */
    static Tensor inverseFrequencies(LlmConfig.Rope rope, long dim) {
        // 1 / base ** (arange(0, dim, 2).float() / dim), all in f32 as torch does
        Tensor exponent = Torch.arange(0, dim, 2, DType.I64, Device.CPU).to(DType.F32).div(dim);
        Tensor base = Torch.full(new long[] {dim / 2}, rope.theta(), DType.F32, Device.CPU);
        Tensor inv = base.pow(exponent).reciprocal();
        return switch (rope.type()) {
            case "default" -> inv;
            case "linear" -> inv.div(rope.factor());
            case "llama3" -> llama3(inv, rope);
            default -> throw new IllegalArgumentException("rope type '" + rope.type() + "' is not supported yet");
        };
    }

    /** Llama 3.1: long wavelengths divided by factor, short ones kept, a smooth blend in between. */
    private static Tensor llama3(Tensor inv, LlmConfig.Rope r) {
        double factor = r.factor(), low = r.lowFreqFactor(), high = r.highFreqFactor();
        double oldContext = r.originalMaxPositions();
        double lowFreqWavelen = oldContext / low, highFreqWavelen = oldContext / high;
        Tensor wavelen = inv.reciprocal().mul(2 * Math.PI);
        Tensor scaled = Torch.where(wavelen.gt(lowFreqWavelen), inv.div(factor), inv);
        Tensor smooth = wavelen.reciprocal().mul(oldContext).sub(low).div(high - low);
        // (1 - smooth) * scaled / factor + smooth * scaled
        Tensor smoothed = smooth.rsub(1).mul(scaled).div(factor).add(smooth.mul(scaled));
        Tensor medium = wavelen.lt(highFreqWavelen).logicalNot().logicalAnd(wavelen.gt(lowFreqWavelen).logicalNot());
        return Torch.where(medium, smoothed, scaled);
    }

    /** cos and sin (B, T, D) in dtype for position ids (B, T). */
    public List<Tensor> cosSin(Tensor positionIds, DType dtype) {
        Tensor pos = positionIds.to(DType.F32).unsqueeze(-1);          // (B, T, 1)
        Tensor freqs = pos.mul(invFreq);                                  // (B, T, D/2)
        Tensor emb = Torch.cat(List.of(freqs, freqs), -1);                // (B, T, D)
        return List.of(emb.cos().to(dtype), emb.sin().to(dtype));
    }

    /**
     * x (B, H, T, D) rotated by cos, sin (B, T, D): x * cos + rotate_half(x) * sin, rotate_half(x) =
     * cat(-x2, x1) of the last dim's halves; one fused kernel on CUDA ({@link FusedOps#rope}).
     */
    public static Tensor apply(Tensor x, Tensor cos, Tensor sin) { return FusedOps.rope(x, cos, sin); }

    public Tensor invFreq() { return invFreq; }

    @Override public void close() { invFreq.close(); }
}
