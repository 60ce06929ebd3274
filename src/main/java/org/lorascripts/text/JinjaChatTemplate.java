package org.lorascripts.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Locale;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's own Jinja {@code chat_template} (tokenizer_config.json or chat_template.jinja),
 * rendered as transformers' {@code apply_chat_template} does: Jinja with {@code trim_blocks}
 * and {@code lstrip_blocks}, the variables {@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token} and the function {@code raise_exception(msg)}.
 *
 * <p>Which text is an assistant turn is found by rendering prefixes, as the training
 * frameworks do: for each assistant message i, {@code render(messages[:i], add_generation_prompt=True)}
 * ends where its answer starts and {@code render(messages[:i+1])} ends where the turn (answer,
 * end-of-turn marker and whatever the template writes after it) ends. Those character spans are
 * the targets. A template whose prefix renders are not prefixes of the whole (e.g. one that
 * moves the system message next to the last user message) has the turn located by searching
 * the text after the previous turn.
 */
public final class JinjaChatTemplate implements ChatRenderer {
    private static final String MARKER = "\u2063answer\u2063";
    private final String source;
    private final String origin;
    private final Map<String, Object> tokens = new HashMap<>();
    private final Jinjava jinja;
    private String endOfTurn;
    private Clock clock = Clock.systemDefaultZone();
    /** The clock of the render in progress, read by the static {@code strftime_now} function. */
    private static final ThreadLocal<Clock> RENDER_CLOCK = ThreadLocal.withInitial(Clock::systemDefaultZone);

    /**
     * {@code origin} names the file in error messages; bos/eos are the tokenizer's special
     * tokens (empty when it has none).
     */
    public JinjaChatTemplate(String source, String origin, Optional<String> bosToken, Optional<String> eosToken) {
        // Python Jinja (keep_trailing_newline=False) drops one newline at the end of the template source.
        source = pythonNotIs(source);
        this.source = source.endsWith("\r\n") ? source.substring(0, source.length() - 2)
                : source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        this.origin = origin;
        tokens.put("bos_token", bosToken.orElse(""));
        tokens.put("eos_token", eosToken.orElse(""));
        // Python Jinja semantics: whitespace control on {{- -}} and {#- -#}, operator precedence,
        // backslash escapes in string literals, no kept trailing newline.
        LegacyOverrides python = LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true).withUseNaturalOperatorPrecedence(true)
                .withAllowAdjacentTextNodes(true).withKeepNullableLoopValues(true).withHandleBackslashInQuotesOnly(true)
                .withDefaultKeepTrailingNewlineBehavior(true).build();
        JinjavaConfig config = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).withLegacyOverrides(python)
                // Message text is data: Jinjava would otherwise render {{ }} and {% %} found in it again.
                .withNestedInterpretationEnabled(false).build();
        jinja = new Jinjava(config);
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", String.class));
        // transformers gives templates strftime_now(format) (local time, Python strftime directives);
        // Llama 3.2 writes "Today Date" with it after testing `strftime_now is defined`.
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                JinjaChatTemplate.class, "strftimeNow", String.class));
    }

    /** Renders with this clock for {@code strftime_now} (tests fix the day). */
    public JinjaChatTemplate withClock(Clock clock) {
        this.clock = clock;
        return this;
    }

    /** Called by templates as {@code strftime_now("%d %b %Y")}. */
    public static String strftimeNow(String format) {
        return strftime(LocalDateTime.now(RENDER_CLOCK.get()), format);
    }

    /** Python's datetime.strftime for the directives chat templates use (C/English locale). */
    static String strftime(LocalDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) { out.append(c); continue; }
            char d = format.charAt(++i);
            switch (d) {
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case 'H' -> out.append(String.format("%02d", t.getHour()));
                case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format("%02d", t.getMinute()));
                case 'S' -> out.append(String.format("%02d", t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'w' -> out.append(t.getDayOfWeek().getValue() % 7);
                case '%' -> out.append('%');
                default -> out.append('%').append(d);
            }
        }
        return out.toString();
    }

    /** Called by templates as {@code raise_exception("...")}. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** The template's own {@code raise_exception}. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) { super(message, null, false, false); }
    }

    public String origin() { return origin; }

    @Override public String displayName() { return "the model's Jinja chat_template (" + origin + ")"; }

    /** The template's text for {@code messages}, exactly as apply_chat_template(tokenize=False) gives it. */
    public String renderText(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>(tokens);
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        // Functions are not variables in Jinjava: give `strftime_now is defined` a defined value
        // (calls still resolve to the registered function).
        context.put("strftime_now", "strftime_now");
        RenderResult result;
        RENDER_CLOCK.set(clock);
        try {
            result = jinja.renderForResult(source, context);
        } catch (TemplateRaised e) {
            throw new IllegalArgumentException(origin + ": the chat_template refuses this conversation: " + e.getMessage());
        } catch (RuntimeException e) {
            TemplateRaised raised = raisedCause(e);
            if (raised != null) throw new IllegalArgumentException(origin + ": the chat_template refuses this conversation: " + raised.getMessage());
            throw new IllegalArgumentException(origin + ": the chat_template cannot be rendered: " + oneLine(e.getMessage()));
        } finally {
            RENDER_CLOCK.remove();
        }
        for (TemplateError err : result.getErrors()) {
            TemplateRaised raised = err.getException() == null ? null : raisedCause(err.getException());
            if (raised != null) throw new IllegalArgumentException(origin + ": the chat_template refuses this conversation: " + raised.getMessage());
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException(origin + ": the chat_template cannot be rendered"
                        + (err.getLineno() > 0 ? " (line " + err.getLineno() + ")" : "") + ": " + oneLine(err.getMessage()));
            }
        }
        return result.getOutput();
    }

    /** Renders once with an empty conversation, so a template that does not parse fails at start-up. */
    public JinjaChatTemplate check() {
        renderText(List.of(new ChatMessage(ChatMessage.USER, "hi"), new ChatMessage(ChatMessage.ASSISTANT, "hello")), false);
        return this;
    }

    @Override public List<ChatSegment> render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        String full = renderText(messages, addGenerationPrompt);
        List<ChatSegment> out = new ArrayList<>();
        int cursor = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).isAssistant()) continue;
            String before = renderText(messages.subList(0, i), true);
            String upTo = renderText(messages.subList(0, i + 1), false);
            int start, end;
            if (upTo.startsWith(before) && full.startsWith(upTo)) {
                start = before.length();
                end = upTo.length();
            } else {
                // The prefix render is not a prefix (the template moves text around): the turn is
                // what follows the answer's first character in render(messages[:i+1]), found by
                // rendering a marker in place of the answer.
                List<ChatMessage> marked = new ArrayList<>(messages.subList(0, i));
                marked.add(new ChatMessage(ChatMessage.ASSISTANT, MARKER));
                int at = renderText(marked, false).indexOf(MARKER);
                String turn = at < 0 || !upTo.startsWith(renderText(marked, false).substring(0, at)) ? "" : upTo.substring(at);
                start = turn.isEmpty() ? -1 : full.indexOf(turn, cursor);
                if (start < 0) {
                    throw new IllegalArgumentException(origin + ": cannot find assistant message " + (i + 1)
                            + " in the rendered conversation, so its tokens cannot be marked for the loss;"
                            + " set train_on_inputs: true or use a built-in chat_template");
                }
                end = start + turn.length();
            }
            if (start < cursor) start = cursor;
            if (start > cursor) out.add(new ChatSegment(full.substring(cursor, start), false));
            if (end > start) out.add(new ChatSegment(full.substring(start, end), true));
            cursor = Math.max(cursor, end);
        }
        if (cursor < full.length()) out.add(new ChatSegment(full.substring(cursor), false));
        return out;
    }

    /**
     * What the template writes after an assistant's answer, trimmed (e.g. {@code <|eot_id|>},
     * {@code <|im_end|>}, {@code <end_of_turn>}); "" when it cannot be told.
     */
    @Override public String endOfTurn() {
        if (endOfTurn == null) {
            String probe = MARKER;
            List<ChatMessage> conv = List.of(new ChatMessage(ChatMessage.USER, "question"), new ChatMessage(ChatMessage.ASSISTANT, probe));
            String eot = "";
            try {
                String text = renderText(conv, false);
                int at = text.lastIndexOf(probe);
                if (at >= 0) eot = text.substring(at + probe.length()).strip();
            } catch (IllegalArgumentException e) {
                eot = "";
            }
            endOfTurn = eot;
        }
        return endOfTurn;
    }

    private static final java.util.regex.Pattern TAG = java.util.regex.Pattern.compile("\\{[{%].*?[}%]\\}", java.util.regex.Pattern.DOTALL);
    private static final java.util.regex.Pattern NOT_IS = java.util.regex.Pattern.compile(
            "\\bnot\\s+([A-Za-z_]\\w*(?:\\.\\w+|\\[[^\\]]*\\])*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*(?:\\([^()]*\\))?)");

    /**
     * Python Jinja binds a test tighter than {@code not}: {@code not x is defined} is
     * {@code not (x is defined)}, while Jinjava reads {@code (not x) is defined} (always true).
     * Templates use the form (DeepSeek R1's {@code not add_generation_prompt is defined}), so
     * inside tags the test is parenthesised as Python reads it.
     */
    static String pythonNotIs(String source) {
        java.util.regex.Matcher tag = TAG.matcher(source);
        StringBuilder out = new StringBuilder();
        while (tag.find()) {
            String fixed = NOT_IS.matcher(tag.group()).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(
                    "not (" + m.group(1) + " is " + (m.group(2) == null ? "" : "not ") + m.group(3) + ")"));
            tag.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(fixed));
        }
        tag.appendTail(out);
        return out.toString();
    }

    private static TemplateRaised raisedCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof TemplateRaised r) return r;
        return null;
    }

    private static String oneLine(String s) {
        if (s == null) return "unknown error";
        return s.replaceAll("\\s+", " ").strip();
    }
}
