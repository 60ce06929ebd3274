package org.lorascripts.lora;

/**
 * Shape and scale of the adapters to inject. scale = alpha / rank (or alpha / sqrt(rank) with
 * rsLoRA). Convolutions with kernels larger than 1x1 get adapters only when convRank > 0 (LoCon);
 * 1x1 convolutions count as linear layers, as in kohya's networks.lora.
 */
public record LoraSpec(int rank, double alpha, double dropout, int convRank, double convAlpha, boolean rsLora) {
    public LoraSpec {
        if (rank < 1) throw new IllegalArgumentException("lora_rank must be >= 1, got " + rank);
        if (dropout < 0 || dropout >= 1) throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
    }

    public static LoraSpec of(int rank, double alpha) { return new LoraSpec(rank, alpha, 0, 0, 0, false); }

    public double scale(int r, double a) { return rsLora ? a / Math.sqrt(r) : a / r; }
}
