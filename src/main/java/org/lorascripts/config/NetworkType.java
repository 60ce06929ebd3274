package org.lorascripts.config;

/**
 * The adapter trained on each module: plain LoRA (with LoCon when conv_rank &gt; 0), or LyCORIS's
 * LoHa (Hadamard product of two low-rank products) and LoKr (Kronecker product), written in
 * LyCORIS's key format ({@code hada_*}, {@code lokr_*}) that AUTOMATIC1111 and ComfyUI load.
 */
public enum NetworkType implements ConfigChoice {
    LORA("lora"),
    LOHA("loha"),
    LOKR("lokr");

    private final String configName;

    NetworkType(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }

    /** LyCORIS's name (its {@code algo=}) for this type. */
    public String algo() { return configName; }
}
