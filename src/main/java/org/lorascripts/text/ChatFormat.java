package org.lorascripts.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ChatTemplate;

/**
 * The chat templates we render ourselves instead of running the model's Jinja template. Each
 * produces the same text as the official template and marks which pieces are targets: an
 * assistant answer plus its end-of-turn marker. Headers, user and system turns are context.
 *
 * <ul>
 *   <li>{@code llama3} (Meta Llama 3 / 3.1 Instruct, model card "Prompt format"):
 *       {@code <|begin_of_text|>} then per message
 *       {@code <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>}; content is
 *       trimmed as the official template's {@code | trim} does.</li>
 *   <li>{@code chatml} (Qwen, OpenAI ChatML): per message {@code <|im_start|>{role}\n{content}<|im_end|>\n}.</li>
 *   <li>{@code mistral} (Mistral Instruct, "[INST]" format as in Mistral's docs):
 *       {@code <s>[INST] {user} [/INST] {assistant}</s>[INST] ...}; a leading system message is
 *       put before the first user message with a blank line, as Mistral's v0.2+ templates do;
 *       user and assistant must alternate.</li>
 *   <li>{@code none}: no markup; each message's content on its own line.</li>
 * </ul>
 *
 * The BOS marker is part of the text (as in the official templates); the dataset strips it
 * again when it adds the BOS id itself, so a sequence never has two.
 */
public enum ChatFormat implements ChatRenderer {
    LLAMA3("<|eot_id|>"),
    CHATML("<|im_end|>"),
    MISTRAL("</s>"),
    NONE("");

    private final String endOfTurn;

    ChatFormat(String endOfTurn) { this.endOfTurn = endOfTurn; }

    @Override public String endOfTurn() { return endOfTurn; }

    @Override public boolean hasMarkup() { return this != NONE; }

    @Override public String displayName() { return name().toLowerCase(java.util.Locale.ROOT); }

    /**
     * The format for a config choice; {@code auto} looks for each family's markers in the
     * tokenizer's Jinja template and falls back to {@code none}.
     */
    public static ChatFormat resolve(ChatTemplate choice, Optional<String> tokenizerTemplate) {
        return switch (choice) {
            case AUTO, MODEL -> tokenizerTemplate.map(ChatFormat::detect).orElse(NONE);
            case LLAMA3 -> LLAMA3;
            case CHATML -> CHATML;
            case MISTRAL -> MISTRAL;
            case NONE -> NONE;
        };
    }

    /** Which family a Jinja chat template belongs to, by its markers; {@code none} if unknown. */
    public static ChatFormat detect(String jinja) {
        if (jinja.contains("<|start_header_id|>")) return LLAMA3;
        if (jinja.contains("<|im_start|>")) return CHATML;
        if (jinja.contains("[INST]")) return MISTRAL;
        return NONE;
    }

    @Override public List<ChatSegment> render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Segments out = new Segments();
        switch (this) {
            case LLAMA3 -> {
                out.add("<|begin_of_text|>", false);
                for (ChatMessage m : messages) {
                    out.add("<|start_header_id|>" + m.role() + "<|end_header_id|>\n\n", false);
                    out.add(m.content().strip() + "<|eot_id|>", m.isAssistant());
                }
            }
            case CHATML -> {
                for (ChatMessage m : messages) {
                    out.add("<|im_start|>" + m.role() + "\n", false);
                    out.add(m.content() + "<|im_end|>", m.isAssistant());
                    out.add("\n", false);
                }
            }
            case MISTRAL -> renderMistral(messages, out);
            case NONE -> {
                for (int i = 0; i < messages.size(); i++) {
                    ChatMessage m = messages.get(i);
                    boolean last = i == messages.size() - 1;
                    if (m.isAssistant()) {
                        out.add(m.content(), true);
                        if (!last) out.add("\n", false);
                    } else {
                        out.add(m.content() + "\n", false);
                    }
                }
            }
        }
        if (addGenerationPrompt) out.add(generationPrompt(), false);
        return out.list;
    }

    /** The full text of {@link #render}. */
    public String renderText(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (ChatSegment s : render(messages, addGenerationPrompt)) sb.append(s.text());
        return sb.toString();
    }

    /** What {@code add_generation_prompt=True} appends: the opening of an assistant turn. */
    public String generationPrompt() {
        return switch (this) {
            case LLAMA3 -> "<|start_header_id|>assistant<|end_header_id|>\n\n";
            case CHATML -> "<|im_start|>assistant\n";
            case MISTRAL, NONE -> ""; // the prompt already ends where the answer starts
        };
    }

    private static void renderMistral(List<ChatMessage> messages, Segments out) {
        int start = 0;
        String system = null;
        if (!messages.isEmpty() && messages.getFirst().role().equals(ChatMessage.SYSTEM)) {
            system = messages.getFirst().content();
            start = 1;
        }
        out.add("<s>", false);
        for (int i = start; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            String expected = (i - start) % 2 == 0 ? ChatMessage.USER : ChatMessage.ASSISTANT;
            if (!m.role().equals(expected)) {
                throw new IllegalArgumentException("chat_template mistral needs user and assistant turns alternating, starting with"
                        + " user (after one optional system message); message " + (i + 1) + " is '" + m.role() + "'");
            }
            if (m.isAssistant()) {
                out.add(" " + m.content() + "</s>", true);
            } else {
                String content = i == start && system != null ? system + "\n\n" + m.content() : m.content();
                out.add("[INST] " + content + " [/INST]", false);
            }
        }
    }

    /** Joins neighbouring pieces of the same kind, so each is tokenised as one string. */
    private static final class Segments {
        final List<ChatSegment> list = new ArrayList<>();

        void add(String text, boolean target) {
            if (text.isEmpty()) return;
            if (!list.isEmpty() && list.getLast().target() == target) {
                list.set(list.size() - 1, new ChatSegment(list.getLast().text() + text, target));
            } else {
                list.add(new ChatSegment(text, target));
            }
        }
    }
}
