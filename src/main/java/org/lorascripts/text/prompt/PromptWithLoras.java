package org.lorascripts.text.prompt;

import java.util.List;

/** A prompt with its {@code <lora:...>} tags taken out ({@code text}), and those tags in prompt order. */
public record PromptWithLoras(String text, List<LoraTag> loras) {
    public PromptWithLoras {
        loras = List.copyOf(loras);
    }
}
