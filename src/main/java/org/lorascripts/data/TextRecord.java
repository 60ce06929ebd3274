package org.lorascripts.data;

import java.util.List;
import org.lorascripts.text.ChatMessage;

/**
 * One example as read from a file, before tokenisation. {@code origin} is "file:line", for
 * error messages about this example.
 */
public sealed interface TextRecord {
    String origin();

    /** A .txt line or a JSONL {@code text}: every token is a target. */
    record Plain(String origin, String text) implements TextRecord {}

    /** JSONL {@code prompt} + {@code completion}, joined with nothing between (the data carries its separator). */
    record PromptCompletion(String origin, String prompt, String completion) implements TextRecord {}

    /** JSONL {@code instruction}, optional {@code input}, {@code output}, rendered with {@link org.lorascripts.text.AlpacaPrompt}. */
    record Alpaca(String origin, String instruction, String input, String output) implements TextRecord {}

    /** JSONL {@code messages}: [{role, content}, ...], rendered with the chat template. */
    record Chat(String origin, List<ChatMessage> messages) implements TextRecord {
        public Chat {
            messages = List.copyOf(messages);
        }
    }
}
