package org.lorascripts.tasks.llm;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.ExampleEncoder;
import org.lorascripts.data.TextDataOptions;
import org.lorascripts.data.TextDataset;
import org.lorascripts.data.TextMix;
import org.lorascripts.data.TextRecord;
import org.lorascripts.data.TokenizedExample;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.ChatRenderers;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TokenizerException;
import org.lorascripts.train.TrainingException;

/**
 * The first training examples of a text config as the trainer sees them, for the web app's Dataset page:
 * the records in the order {@link LlmLoraTask} gets them (the data read, split and mixed by
 * {@link TextMix}), rendered and tokenised by the trainer's own {@link ExampleEncoder} with the chat
 * template {@link ChatRenderers} resolves for the base model's tokenizer, and cut to max_seq_len as an
 * unpacked run cuts them ({@link TextDataset#truncate}). Each example is a list of spans: runs of tokens
 * that are all trained on (a target: their label is not ignored) or all context, with their ids and text.
 * Needs the tokenizer only, not the model's weights or libtorch.
 */
public final class TextPreview {
    /** The most examples one preview shows. */
    public static final int MAX_EXAMPLES = 50;

    /** A run of tokens with the same role; {@code cut}: past max_seq_len, dropped by truncation. */
    public record Span(String text, boolean target, boolean cut, long[] ids) {}

    /**
     * @param kind text, prompt-completion, alpaca or chat
     * @param tokens the example's token count as encoded (before any cut)
     * @param trained the tokens the loss is computed on, after the cut
     * @param skipped the trainer leaves it out: no target token within max_seq_len
     */
    public record Example(String origin, String kind, int tokens, int trained, boolean truncated, boolean skipped, List<Span> spans) {}

    /**
     * @param template the chat template's name as the plan prints it ("none" for no markup)
     * @param total the training examples of the data (after the validation split)
     */
    public record Result(String model, String template, boolean trainOnInputs, int maxSeqLen, boolean packing, int total,
                         List<Example> examples) {}

    private TextPreview() {}

    /** The first {@code count} (1..{@link #MAX_EXAMPLES}) training examples of a text-generation config. */
    public static Result of(TrainConfig config, int count) {
        if (count < 1 || count > MAX_EXAMPLES) throw new IllegalArgumentException("show 1.." + MAX_EXAMPLES + " examples, not " + count);
        TextDataOptions o = TextDataOptions.from(config);
        LlmModelFolder base;
        try {
            base = LlmModelFolder.resolve(config.model().baseModel());
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
        try (HfTokenizer tokenizer = HfTokenizer.load(base.dir())) {
            ChatRenderer chat = o.chatRenderer(tokenizer);
            ExampleEncoder encoder = new ExampleEncoder(tokenizer, chat, o.trainOnInputs());
            List<TextRecord> records = TextMix.read(config.text().trainData(), o).train();
            List<Example> out = new ArrayList<>();
            for (TextRecord r : records.subList(0, Math.min(count, records.size()))) {
                out.add(example(r, encoder.encode(r), o, tokenizer));
            }
            return new Result(base.name(), chat.displayName(), o.trainOnInputs(), o.maxSeqLen(), o.packing(), records.size(), out);
        } catch (TokenizerException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    private static Example example(TextRecord r, TokenizedExample full, TextDataOptions o, HfTokenizer tokenizer) {
        // a packed run keeps every token (examples are joined, the remainder of the data dropped); an unpacked one cuts
        TokenizedExample kept = o.packing() ? full : TextDataset.truncate(full, o.maxSeqLen());
        long[] ids = full.inputIds();
        List<Span> spans = new ArrayList<>();
        String before = "";
        int from = 0;
        for (int i = 1; i <= ids.length; i++) {
            if (i < ids.length && role(full, kept, i) == role(full, kept, from)) continue;
            // the text of a span is the growth of the decoded prefix, so spaces and merged bytes land where they are
            String upTo = tokenizer.decode(Arrays.copyOf(ids, i));
            String text = upTo.startsWith(before) ? upTo.substring(before.length()) : tokenizer.decode(Arrays.copyOfRange(ids, from, i));
            int role = role(full, kept, from);
            spans.add(new Span(text, role == 1, role == 2, Arrays.copyOfRange(ids, from, i)));
            before = upTo;
            from = i;
        }
        String kind = switch (r) {
            case TextRecord.Plain p -> "text";
            case TextRecord.PromptCompletion p -> "prompt-completion";
            case TextRecord.Alpaca a -> "alpaca";
            case TextRecord.Chat c -> "chat";
        };
        return new Example(r.origin(), kind, full.length(), kept.targetCount(), kept.length() < full.length(),
                kept.targetCount() == 0, spans);
    }

    /** 0 context, 1 target, 2 cut off by max_seq_len. */
    private static int role(TokenizedExample full, TokenizedExample kept, int i) {
        if (i >= kept.length()) return 2;
        return full.labels()[i] != TokenizedExample.IGNORE ? 1 : 0;
    }
}
