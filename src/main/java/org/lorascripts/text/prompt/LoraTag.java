package org.lorascripts.text.prompt;

/**
 * One {@code <lora:name:weight>} tag of a sampling prompt. {@code weight} scales the LoRA in the
 * text encoder and {@code unetWeight} in the U-Net; AUTOMATIC1111 writes them as
 * {@code <lora:name:te:unet>} or {@code <lora:name:te=0.5:unet=1>}, and a lone weight sets both.
 */
public record LoraTag(String name, double weight, double unetWeight) {
    public LoraTag {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("LoRA tag without a name");
    }

    public LoraTag(String name, double weight) {
        this(name, weight, weight);
    }
}
