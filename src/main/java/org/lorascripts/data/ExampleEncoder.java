package org.lorascripts.data;

import java.util.Arrays;
import java.util.List;
import org.lorascripts.text.AlpacaPrompt;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.ChatMessage;
import org.lorascripts.text.ChatSegment;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.JinjaChatTemplate;

/**
 * Turns a {@link TextRecord} into token ids and labels.
 *
 * <ol>
 *   <li>BOS once at the start when the tokenizer {@link HfTokenizer#addsBos() uses one}. A
 *       template that writes the BOS text itself (llama3, mistral) has that text removed
 *       first, so there is never a second BOS.</li>
 *   <li>The record's pieces, each encoded on its own, so target and context never share a
 *       token: plain text is all target; prompt/completion and alpaca train on the answer
 *       only; chat trains on assistant turns and their end-of-turn markers.</li>
 *   <li>EOS appended as a target, unless the sequence already ends with a stop token (a
 *       mistral answer ends with {@code </s>}; a llama3 answer with {@code <|eot_id|>}, which
 *       Llama 3 Instruct lists as a stop id). The last token's label is forced to itself, so
 *       EOS is never masked, also when the pad id equals the EOS id: masking is decided by
 *       position here and in the collator, never by comparing ids with the pad id.</li>
 *   <li>Label 0 is ignored: nothing precedes the first token, so nothing predicts it.</li>
 * </ol>
 */
public final class ExampleEncoder {
    private final HfTokenizer tokenizer;
    private final ChatRenderer chat;
    private final boolean trainOnInputs;

    public ExampleEncoder(HfTokenizer tokenizer, ChatRenderer chat) {
        this(tokenizer, chat, false);
    }

    /** {@code trainOnInputs}: every token is a target (train_on_inputs / train_on_prompt). */
    public ExampleEncoder(HfTokenizer tokenizer, ChatRenderer chat, boolean trainOnInputs) {
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.trainOnInputs = trainOnInputs;
    }

    public ChatRenderer chatFormat() { return chat; }

    public TokenizedExample encode(TextRecord record) {
        List<ChatSegment> segments = switch (record) {
            case TextRecord.Plain p -> List.of(new ChatSegment(p.text(), true));
            case TextRecord.PromptCompletion pc -> List.of(new ChatSegment(pc.prompt(), false), new ChatSegment(pc.completion(), true));
            case TextRecord.Alpaca a -> List.of(new ChatSegment(AlpacaPrompt.render(a.instruction(), a.input()), false),
                    new ChatSegment(a.output(), true));
            case TextRecord.Chat c -> chatSegments(c);
        };
        Ids out = new Ids();
        if (trainOnInputs) segments = segments.stream().map(x -> new ChatSegment(x.text(), true)).toList();
        if (record instanceof TextRecord.Chat && chat instanceof JinjaChatTemplate) appendBosAndSpans(out, segments);
        else appendBosAndSegments(out, segments);
        int n = out.size();
        if (n == 0 || !tokenizer.isStop(out.ids[n - 1])) out.add(tokenizer.eosId(), true);
        long[] ids = Arrays.copyOf(out.ids, out.size());
        long[] labels = Arrays.copyOf(out.labels, out.size());
        labels[labels.length - 1] = ids[ids.length - 1];
        labels[0] = TokenizedExample.IGNORE;
        return new TokenizedExample(ids, labels);
    }

    /**
     * The ids an inference run starts from: BOS (when used) and the conversation rendered with
     * the generation prompt, i.e. the opening of the assistant's turn.
     */
    public long[] encodePrompt(List<ChatMessage> messages) {
        Ids out = new Ids();
        appendBosAndSegments(out, chat.render(messages, true));
        return Arrays.copyOf(out.ids, out.size());
    }

    private List<ChatSegment> chatSegments(TextRecord.Chat c) {
        // Turns after the last answer have nothing to train on; an EOS after them would teach
        // the model to end the conversation after a user's turn.
        List<ChatMessage> messages = c.messages();
        int last = messages.size() - 1;
        while (last >= 0 && !messages.get(last).isAssistant()) last--;
        if (last < 0) throw new DatasetException(c.origin() + ": no message with role 'assistant': nothing to train on");
        try {
            return chat.render(messages.subList(0, last + 1), false);
        } catch (IllegalArgumentException e) {
            throw new DatasetException(c.origin() + ": " + e.getMessage());
        }
    }

    /**
     * A model template's text is tokenised whole, as at inference, and each token is a target
     * when its character span overlaps an assistant turn's span: the ids are exactly those of
     * the rendered conversation.
     */
    private void appendBosAndSpans(Ids out, List<ChatSegment> segments) {
        StringBuilder text = new StringBuilder();
        for (ChatSegment s : segments) text.append(s.text());
        int skip = 0;
        boolean bos = tokenizer.addsBos();
        if (bos) {
            out.add(tokenizer.bosId().orElseThrow(), false);
            String bosText = tokenizer.bosToken().orElse("");
            if (!bosText.isEmpty() && text.indexOf(bosText) == 0) skip = bosText.length();
        }
        String body = text.substring(skip);
        // target spans in code points of body
        List<int[]> spans = new java.util.ArrayList<>();
        int at = -skip;
        for (ChatSegment s : segments) {
            int from = Math.max(at, 0), to = at + s.text().length();
            if (s.target() && to > from) spans.add(new int[] {body.codePointCount(0, from), body.codePointCount(0, to)});
            at = to;
        }
        HfTokenizer.Offsets enc = tokenizer.encodeWithOffsets(body);
        for (int t = 0; t < enc.ids().length; t++) {
            boolean target = false;
            for (int[] span : spans) {
                if (enc.starts()[t] < span[1] && enc.ends()[t] > span[0]) { target = true; break; }
            }
            out.add(enc.ids()[t], target);
        }
    }

    private void appendBosAndSegments(Ids out, List<ChatSegment> segments) {
        boolean bos = tokenizer.addsBos();
        if (bos) out.add(tokenizer.bosId().orElseThrow(), false);
        for (int i = 0; i < segments.size(); i++) {
            ChatSegment s = segments.get(i);
            String text = s.text();
            if (i == 0 && bos && tokenizer.bosToken().isPresent() && text.startsWith(tokenizer.bosToken().get())) {
                text = text.substring(tokenizer.bosToken().get().length());
            }
            for (long id : tokenizer.encode(text)) out.add(id, s.target());
        }
    }

    /** A growable pair of id and label arrays. */
    private static final class Ids {
        long[] ids = new long[64];
        long[] labels = new long[64];
        private int size;

        void add(long id, boolean target) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, size * 2);
                labels = Arrays.copyOf(labels, size * 2);
            }
            ids[size] = id;
            labels[size++] = target ? id : TokenizedExample.IGNORE;
        }

        int size() { return size; }
    }
}
