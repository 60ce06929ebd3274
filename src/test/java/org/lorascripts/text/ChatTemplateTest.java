package org.lorascripts.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.ChatTemplate;

/**
 * Rendered text against the formats as the model makers document them (expected strings written
 * out by hand), and which pieces are targets.
 */
class ChatTemplateTest {
    private static final List<ChatMessage> TRAVEL = List.of(
            new ChatMessage("system", "You are a helpful AI assistant for travel tips and recommendations"),
            new ChatMessage("user", "What is France's capital?"),
            new ChatMessage("assistant", "Bonjour! The capital of France is Paris!"));

    @Test
    void llama3MatchesMetaPromptFormat() {
        // Meta Llama 3 model card, "Prompt format" (a system prompt, one user turn, one answer).
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "You are a helpful AI assistant for travel tips and recommendations<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is France's capital?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nBonjour! The capital of France is Paris!<|eot_id|>";
        assertEquals(expected, ChatFormat.LLAMA3.renderText(TRAVEL, false));
        assertEquals(List.of("Bonjour! The capital of France is Paris!<|eot_id|>"), targets(ChatFormat.LLAMA3.render(TRAVEL, false)));

        String prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(prompt, ChatFormat.LLAMA3.renderText(List.of(new ChatMessage("user", "  Hi\n")), true),
                "content is trimmed, as the official template's '| trim' does");
    }

    @Test
    void chatmlMatchesQwenFormat() {
        List<ChatMessage> m = List.of(new ChatMessage("system", "You are a helpful assistant."),
                new ChatMessage("user", "Hello"), new ChatMessage("assistant", "Hi there"),
                new ChatMessage("user", "How are you?"), new ChatMessage("assistant", "Fine, thanks."));
        String expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi there<|im_end|>\n"
                + "<|im_start|>user\nHow are you?<|im_end|>\n"
                + "<|im_start|>assistant\nFine, thanks.<|im_end|>\n";
        assertEquals(expected, ChatFormat.CHATML.renderText(m, false));
        assertEquals(List.of("Hi there<|im_end|>", "Fine, thanks.<|im_end|>"), targets(ChatFormat.CHATML.render(m, false)));
        assertEquals("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
                ChatFormat.CHATML.renderText(List.of(new ChatMessage("user", "Hello")), true));
    }

    @Test
    void mistralMatchesInstFormat() {
        // Mistral's instruct format: <s>[INST] Instruction [/INST] Model answer</s>[INST] Follow-up instruction [/INST]
        List<ChatMessage> m = List.of(new ChatMessage("user", "What is your favourite condiment?"),
                new ChatMessage("assistant", "Well, I'm quite partial to a good squeeze of fresh lemon juice."),
                new ChatMessage("user", "Do you have mayonnaise recipes?"));
        String expected = "<s>[INST] What is your favourite condiment? [/INST]"
                + " Well, I'm quite partial to a good squeeze of fresh lemon juice.</s>"
                + "[INST] Do you have mayonnaise recipes? [/INST]";
        assertEquals(expected, ChatFormat.MISTRAL.renderText(m, true));
        assertEquals(List.of(" Well, I'm quite partial to a good squeeze of fresh lemon juice.</s>"),
                targets(ChatFormat.MISTRAL.render(m, false)));

        List<ChatMessage> withSystem = List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello"));
        assertEquals("<s>[INST] Be brief.\n\nHi [/INST] Hello</s>", ChatFormat.MISTRAL.renderText(withSystem, false));
    }

    @Test
    void mistralRejectsTurnsOutOfOrder() {
        var e = assertThrows(IllegalArgumentException.class, () -> ChatFormat.MISTRAL.render(
                List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b")), false));
        assertTrue(e.getMessage().contains("message 2 is 'user'"), e.getMessage());
    }

    @Test
    void noneHasNoMarkup() {
        List<ChatMessage> m = List.of(new ChatMessage("user", "2+2?"), new ChatMessage("assistant", "4"),
                new ChatMessage("user", "3+3?"), new ChatMessage("assistant", "6"));
        assertEquals("2+2?\n4\n3+3?\n6", ChatFormat.NONE.renderText(m, false));
        assertEquals(List.of("4", "6"), targets(ChatFormat.NONE.render(m, false)));
    }

    @Test
    void segmentsConcatenateToTheTextAndAlternate() {
        for (ChatFormat f : List.of(ChatFormat.LLAMA3, ChatFormat.CHATML, ChatFormat.MISTRAL, ChatFormat.NONE)) {
            List<ChatSegment> s = f.render(TRAVEL.subList(1, 3), false);
            assertEquals(f.renderText(TRAVEL.subList(1, 3), false), String.join("", s.stream().map(ChatSegment::text).toList()));
            for (int i = 1; i < s.size(); i++) assertTrue(s.get(i).target() != s.get(i - 1).target(), f + " merges neighbours");
        }
    }

    @Test
    void autoDetectsFamilyFromJinjaMarkers() {
        String llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
                + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}";
        String mistral = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                + "{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
        assertEquals(ChatFormat.LLAMA3, ChatFormat.resolve(ChatTemplate.AUTO, Optional.of(llama3)));
        assertEquals(ChatFormat.CHATML, ChatFormat.resolve(ChatTemplate.AUTO, Optional.of(TinyTokenizerWriter.CHATML_JINJA)));
        assertEquals(ChatFormat.MISTRAL, ChatFormat.resolve(ChatTemplate.AUTO, Optional.of(mistral)));
        assertEquals(ChatFormat.NONE, ChatFormat.resolve(ChatTemplate.AUTO, Optional.of("{{ messages[0]['content'] }}")));
        assertEquals(ChatFormat.NONE, ChatFormat.resolve(ChatTemplate.AUTO, Optional.empty()));
        assertEquals(ChatFormat.MISTRAL, ChatFormat.resolve(ChatTemplate.MISTRAL, Optional.of(llama3)), "explicit choice wins");
    }

    private static List<String> targets(List<ChatSegment> segments) {
        return segments.stream().filter(ChatSegment::target).map(ChatSegment::text).toList();
    }
}
