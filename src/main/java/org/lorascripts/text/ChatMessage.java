package org.lorascripts.text;

/** One turn of a conversation, as in the OpenAI/HF {@code messages} list: {@code {"role", "content"}}. */
public record ChatMessage(String role, String content) {
    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";

    public ChatMessage {
        if (role == null || content == null) throw new IllegalArgumentException("role and content must not be null");
    }

    public boolean isAssistant() { return role.equals(ASSISTANT); }
}
