package org.lorascripts.text;

/**
 * The Stanford Alpaca prompt (wording from {@code PROMPT_DICT} in tatsu-lab/stanford_alpaca
 * {@code train.py}), with a newline after "### Response:" as alpaca-lora and torchtune write it,
 * so the answer starts on its own line. The answer ({@code output}) follows the prompt directly.
 */
public final class AlpacaPrompt {
    private AlpacaPrompt() {}

    /** The prompt for {@code instruction}, with the "### Input:" block only when {@code input} is not blank. */
    public static String render(String instruction, String input) {
        if (input == null || input.isBlank()) {
            return "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                    + "### Instruction:\n" + instruction + "\n\n### Response:\n";
        }
        return "Below is an instruction that describes a task, paired with an input that provides further context. "
                + "Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\n" + instruction + "\n\n### Input:\n" + input + "\n\n### Response:\n";
    }
}
