package org.lorascripts.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The model templates in src/test/resources/chat-templates rendered by {@link JinjaChatTemplate}
 * against expected.json, made with transformers' renderer by
 * {@code /tmp/ptenv/bin/python3 tools/chat_template_reference.py}: byte-for-byte equal, and the
 * same conversations refused.
 */
class JinjaChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static String resource(String name) throws Exception {
        try (InputStream in = JinjaChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static JinjaChatTemplate template(String name) throws Exception {
        String[] tokens = switch (name) {
            case "llama3", "llama3.1", "llama3.2" -> new String[] {"<|begin_of_text|>", "<|eot_id|>"};
            case "qwen2.5" -> new String[] {"", "<|im_end|>"};
            case "mistral-v0.3" -> new String[] {"<s>", "</s>"};
            case "gemma" -> new String[] {"<bos>", "<eos>"};
            case "phi3.5" -> new String[] {"<s>", "<|endoftext|>"};
            case "deepseek-r1-distill-qwen" -> new String[] {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"};
            default -> new String[] {"<s>", "<|im_end|>"};
        };
        // The day tools/chat_template_reference.py gives strftime_now.
        Clock day = Clock.fixed(LocalDateTime.of(2025, 3, 4, 12, 0).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        return new JinjaChatTemplate(resource(name + ".jinja"), name + ".jinja", Optional.of(tokens[0]), Optional.of(tokens[1]))
                .withClock(day);
    }

    static List<List<ChatMessage>> conversations() throws Exception {
        List<List<ChatMessage>> out = new ArrayList<>();
        for (JsonNode conv : JSON.readTree(resource("conversations.json"))) {
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : conv) messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            out.add(messages);
        }
        return out;
    }

    @Test void rendersExactlyAsTransformers() throws Exception {
        List<List<ChatMessage>> convs = conversations();
        JsonNode cases = JSON.readTree(resource("expected.json"));
        int checked = 0, refused = 0;
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases) {
            JinjaChatTemplate t = template(c.get("template").asText());
            List<ChatMessage> messages = convs.get(c.get("conversation").asInt()).subList(0, c.get("messages").asInt());
            boolean gen = c.get("add_generation_prompt").asBoolean();
            String what = c.toString();
            if (c.has("error")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.renderText(messages, gen), what);
                assertTrue(e.getMessage().contains(c.get("error").asText()), e.getMessage());
                assertTrue(e.getMessage().startsWith(t.origin() + ": "), e.getMessage());
                refused++;
            } else {
                String got;
                try {
                    got = t.renderText(messages, gen);
                } catch (IllegalArgumentException e) {
                    got = "error: " + e.getMessage();
                }
                if (!c.get("text").asText().equals(got)) wrong.add(what + "\n  got: " + JSON.writeValueAsString(got));
                checked++;
            }
        }
        assertEquals(List.of(), wrong, wrong.size() + " renders differ");
        assertTrue(checked > 100 && refused > 0, checked + " rendered, " + refused + " refused");
    }

    @Test void assistantTurnsAreTheTargetSegments() throws Exception {
        List<ChatMessage> conv = conversations().get(2);
        JinjaChatTemplate t = template("qwen2.5");
        List<ChatSegment> segs = t.render(conv, false);
        StringBuilder all = new StringBuilder(), targets = new StringBuilder();
        for (ChatSegment s : segs) { all.append(s.text()); if (s.target()) targets.append(s.text()).append('|'); }
        assertEquals(t.renderText(conv, false), all.toString());
        assertEquals("Paris.<|im_end|>\n|Rome.<|im_end|>\n|", targets.toString());

        JinjaChatTemplate llama = template("llama3.1");
        targets.setLength(0);
        for (ChatSegment s : llama.render(conv, false)) if (s.target()) targets.append(s.text()).append('|');
        assertEquals("Paris.<|eot_id|>|Rome.<|eot_id|>|", targets.toString());
        assertEquals("<|eot_id|>", llama.endOfTurn());
        assertEquals("<end_of_turn>", template("gemma").endOfTurn());
    }

    @Test void mistralSystemMessageMovesButTurnsAreStillFound() throws Exception {
        List<ChatMessage> conv = conversations().get(2);
        StringBuilder targets = new StringBuilder();
        for (ChatSegment s : template("mistral-v0.3").render(conv, false)) if (s.target()) targets.append(s.text()).append('|');
        // The system message moves next to the last user message, so the prefixes are not prefixes:
        // the turns start at the answer (the space before it is the template's, left as context).
        assertEquals("Paris.</s>|Rome.</s>|", targets.toString());
    }

    @Test void brokenTemplateIsOneLineNamingTheFile() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% for m in messages %}{{ m.content }", "/models/x/chat_template.jinja",
                Optional.empty(), Optional.empty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, t::check);
        assertTrue(e.getMessage().startsWith("/models/x/chat_template.jinja: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    @Test void strftimeNowFollowsPythonDirectives() {
        LocalDateTime t = LocalDateTime.of(2025, 3, 4, 15, 7, 9);
        // Python: datetime(2025,3,4,15,7,9).strftime(...)
        assertEquals("04 Mar 2025", JinjaChatTemplate.strftime(t, "%d %b %Y"));
        assertEquals("2025-03-04 15:07:09 Tuesday March 03 PM 063 25 %", JinjaChatTemplate.strftime(t, "%Y-%m-%d %H:%M:%S %A %B %I %p %j %y %%"));
        JinjaChatTemplate tpl = new JinjaChatTemplate("{% if strftime_now is defined %}{{ strftime_now('%d %B %Y') }}{% else %}none{% endif %}",
                "t.jinja", Optional.empty(), Optional.empty())
                .withClock(Clock.fixed(t.toInstant(ZoneOffset.UTC), ZoneOffset.UTC));
        assertEquals("04 March 2025", tpl.renderText(List.of(), false));
    }

    @Test void notBindsLooserThanTestsAsInPython() {
        // Python Jinja: `not x is defined` is `not (x is defined)`.
        JinjaChatTemplate t = new JinjaChatTemplate("{% if not add_generation_prompt is defined %}unset{% else %}set{% endif %}"
                + "{% if not nothing is defined %}+{% endif %}{{ 'a' if not messages is not none else 'b' }}",
                "t.jinja", Optional.empty(), Optional.empty());
        assertEquals("set+b", t.renderText(List.of(), true));
        assertEquals("x {{ not (y is defined) }}", JinjaChatTemplate.pythonNotIs("x {{ not y is defined }}"));
        assertEquals("{{ not (m['a'].b is not string) }} not q is r", JinjaChatTemplate.pythonNotIs("{{ not m['a'].b is not string }} not q is r"));
    }

    @Test void messageTextIsNeverRenderedAgain() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% for m in messages %}[{{ m.content }}]{% endfor %}", "t.jinja",
                Optional.empty(), Optional.empty());
        String text = "{{ 7 * 6 }} {% if true %}x{% endif %} {{ raise_exception('no') }}";
        assertEquals("[" + text + "]", t.renderText(List.of(new ChatMessage(ChatMessage.USER, text)), false));
    }
}
