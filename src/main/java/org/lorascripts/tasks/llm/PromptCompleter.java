package org.lorascripts.tasks.llm;

import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.lorascripts.data.ExampleEncoder;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.ChatMessage;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;

/**
 * Completes text prompts with a model and its tokenizer, encoding prompts the way training
 * encodes examples, so a trained adapter sees what it learned from: BOS (when the tokenizer uses
 * one) and the prompt text; or, with a chat format, the prompt as one user turn rendered with the
 * generation prompt. Generation stops at the tokenizer's stop ids and, for chat, at the format's
 * end-of-turn token.
 */
public final class PromptCompleter {
    /** The new text (special tokens removed) and the generated ids (the stop token included). */
    public record Completion(String text, long[] ids, boolean stopped) {}

    private final LlamaForCausalLM model;
    private final HfTokenizer tokenizer;
    private final ChatRenderer chat;
    private final long[] stopIds;

    /** {@code chat} {@link ChatFormat#NONE} completes the raw text. */
    public PromptCompleter(LlamaForCausalLM model, HfTokenizer tokenizer, ChatRenderer chat) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.chat = chat;
        LongStream stops = Arrays.stream(tokenizer.stopIds());
        if (chat.hasMarkup()) {
            long[] eot = chat.endOfTurn().isEmpty() ? new long[0] : tokenizer.encode(chat.endOfTurn());
            if (eot.length == 1) stops = LongStream.concat(stops, LongStream.of(eot[0]));
        }
        this.stopIds = stops.distinct().toArray();
    }

    public ChatRenderer chatFormat() { return chat; }

    /** The ids generation starts from. */
    public long[] promptIds(String prompt) {
        if (chat.hasMarkup()) return new ExampleEncoder(tokenizer, chat).encodePrompt(List.of(new ChatMessage(ChatMessage.USER, prompt)));
        long[] text = tokenizer.encode(prompt);
        if (!tokenizer.addsBos()) return text;
        long[] ids = new long[text.length + 1];
        ids[0] = tokenizer.bosId().orElseThrow();
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** Generates with {@code options} (its eos ids are replaced by this completer's stop ids). */
    public Completion complete(String prompt, Generator.Options options) {
        long[] ids = promptIds(prompt);
        if (ids.length == 0) throw new IllegalArgumentException("the prompt is empty and the tokenizer adds no BOS: nothing to continue from");
        long[] out = new Generator(model).generate(ids, options.withEos(stopIds));
        boolean stopped = out.length > 0 && LongStream.of(stopIds).anyMatch(s -> s == out[out.length - 1]);
        long[] text = stopped ? Arrays.copyOf(out, out.length - 1) : out;
        return new Completion(tokenizer.decode(text, true), out, stopped);
    }

    long[] stopIds() { return stopIds.clone(); }
}
