package org.lorascripts.text;

import java.util.List;

/**
 * Renders a conversation as text pieces marked target (an assistant turn, trained on) or
 * context. Implemented by the built-in {@link ChatFormat}s and by {@link JinjaChatTemplate}, the
 * model's own Jinja template.
 */
public interface ChatRenderer {
    /** The rendered conversation as segments; concatenated, they are the template's text. */
    List<ChatSegment> render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /** The marker that closes an assistant turn ("" for none): generation should also stop there. */
    String endOfTurn();

    /** False for {@link ChatFormat#NONE}: no markup at all. */
    default boolean hasMarkup() { return true; }

    /** A short name for logs and the plan. */
    String displayName();
}
