package org.lorascripts.models.sd.sampling;

import org.lorascripts.text.prompt.PromptSyntax;

/**
 * One sampling prompt with kohya's inline options ({@code train_util.sample_images}): the text is cut
 * at {@code " --"}, and {@code --n TEXT} (negative prompt), {@code --w N}, {@code --h N},
 * {@code --d SEED}, {@code --l CFG}, {@code --s STEPS} override the run's defaults. LoRA tags
 * ({@code <lora:name:0.8>}) are removed: while training, the network being trained is the LoRA.
 */
public record SamplePrompt(String prompt, String negative, int width, int height, long seed, double cfgScale, int steps) {

    public static SamplePrompt parse(String raw, int width, int height, long seed, double cfgScale, int steps) {
        String[] parts = raw.strip().split(" --");
        String prompt = parts[0];
        String negative = "";
        for (int i = 1; i < parts.length; i++) {
            String arg = parts[i].strip();
            if (arg.length() < 2 || arg.charAt(1) != ' ') {
                throw new IllegalArgumentException("sample prompt \"" + raw + "\": unknown option --" + arg + " (known: --n, --w, --h, --d, --l, --s)");
            }
            String value = arg.substring(2).strip();
            try {
                switch (arg.charAt(0)) {
                    case 'n' -> negative = value;
                    case 'w' -> width = Integer.parseInt(value);
                    case 'h' -> height = Integer.parseInt(value);
                    case 'd' -> seed = Long.parseLong(value);
                    case 'l' -> cfgScale = Double.parseDouble(value);
                    case 's' -> steps = Integer.parseInt(value);
                    default -> throw new IllegalArgumentException("sample prompt \"" + raw + "\": unknown option --" + arg.charAt(0)
                            + " (known: --n, --w, --h, --d, --l, --s)");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("sample prompt \"" + raw + "\": --" + arg.charAt(0) + " needs a number, got \"" + value + "\"");
            }
        }
        return new SamplePrompt(PromptSyntax.extractLoras(prompt).text(), PromptSyntax.extractLoras(negative).text(),
                width, height, seed, cfgScale, steps);
    }
}
