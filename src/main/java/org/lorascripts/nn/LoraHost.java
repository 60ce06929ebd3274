package org.lorascripts.nn;

/** A frozen module (linear or convolution) that can carry an adapter beside its weight. */
public interface LoraHost {
    enum Kind { LINEAR, CONV }

    Kind kind();

    /** (out, in) for linear; (out, in/groups, kh, kw) for convolutions. */
    long[] weightShape();

    /** Convolution stride and padding (ignored for linear). */
    default int stride() { return 1; }
    default int padding() { return 0; }

    /**
     * The frozen weight and bias (bias may be null), e.g. for merging a LoRA into it. A
     * {@link #quantized()} host returns a dequantised copy of its weight.
     */
    org.lorascripts.tensor.Tensor weight();
    org.lorascripts.tensor.Tensor bias();

    /**
     * True when the weight is stored quantised ({@link Linear4bit}, or fp8 on {@link Linear} and {@link Conv2d}):
     * {@link #weight()} is then a copy, and merging into it is refused.
     */
    default boolean quantized() { return false; }

    /** Adds an adapter (replacing any previous one); null removes it. */
    void attach(Adapter adapter);

    Adapter adapter();
}
