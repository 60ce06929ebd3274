package org.lorascripts.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.HfTokenizer;

/**
 * Builds the training and validation {@link TextDataset}s: read the records of each dataset, split off the
 * validation examples (val_data_dir, or val_ratio with the run's seed, before tokenising so
 * the split does not depend on the tokenizer), mix several datasets ({@link TextMix}), encode, then fit to max_seq_len: truncate
 * (keeping the start) or pack.
 */
final class TextDatasetLoader {
    private TextDatasetLoader() {}

    static TextDataSplit load(List<Path> trainData, TextDataOptions o, HfTokenizer tokenizer) {
        ChatRenderer chat = o.chatRenderer(tokenizer);
        ExampleEncoder encoder = new ExampleEncoder(tokenizer, chat, o.trainOnInputs());
        List<ConfigWarning> warnings = new ArrayList<>();

        TextMix mix = TextMix.read(trainData, o);
        List<TextRecord> train = mix.train();
        List<TextRecord> val = mix.val();

        if (!chat.hasMarkup() && o.chatTemplate() == ChatTemplate.AUTO
                && train.stream().anyMatch(r -> r instanceof TextRecord.Chat)) {
            warnings.add(new ConfigWarning("chat_template", "chat_template auto: the tokenizer has no chat_template;"
                    + " chat examples are rendered without markup (set chat_template to the model's family or give chat_template_file)"));
        }
        TextDataset trainSet = build(train, "training", o.packing(), encoder, tokenizer, o, warnings);
        // Validation is never packed: each example is scored whole, so the validation loss
        // means the same with and without packing and no tail of the data is dropped.
        Optional<TextDataset> valSet = val.isEmpty() ? Optional.empty()
                : Optional.of(build(val, "validation", false, encoder, tokenizer, o, warnings));
        return new TextDataSplit(trainSet, valSet, chat, warnings, trainData.size() > 1 ? mix.describe() : List.of());
    }

    private static TextDataset build(List<TextRecord> records, String what, boolean pack, ExampleEncoder encoder,
                                     HfTokenizer tokenizer, TextDataOptions o, List<ConfigWarning> warnings) {
        int max = o.maxSeqLen();
        List<TokenizedExample> examples = new ArrayList<>(records.size());
        int truncated = 0, longest = 0, dropped = 0;
        for (TextRecord r : records) {
            TokenizedExample e = encoder.encode(r);
            longest = Math.max(longest, e.length());
            if (!pack && e.length() > max) {
                truncated++;
                e = TextDataset.truncate(e, max);
            }
            // A row with no target adds nothing but can make a batch's token-mean loss 0/0.
            if (e.targetCount() == 0) { dropped++; continue; }
            examples.add(e);
        }
        if (truncated > 0) {
            warnings.add(new ConfigWarning("max_seq_len", truncated + " of " + records.size() + " " + what + " examples are longer"
                    + " than max_seq_len " + max + " tokens (longest " + longest + ") and were truncated, keeping the start;"
                    + " raise max_seq_len or set packing: true"));
        }
        if (dropped > 0) {
            warnings.add(new ConfigWarning("max_seq_len", dropped + " " + what + " examples were skipped: no answer tokens"
                    + (pack ? "" : " within max_seq_len " + max) + " to train on"));
        }
        if (examples.isEmpty()) {
            throw new DatasetException("no " + what + " examples left: every one has no answer tokens"
                    + (pack ? "" : " within max_seq_len " + max) + "; check the data or raise max_seq_len");
        }
        if (!pack) return TextDataset.ofExamples(examples, tokenizer.padId());

        SequencePacker.Result packed = SequencePacker.pack(examples, max);
        long total = examples.stream().mapToLong(TokenizedExample::length).sum();
        if (packed.sequences().isEmpty()) {
            throw new DatasetException("packing: the " + what + " examples have " + total + " tokens in all, fewer than"
                    + " max_seq_len " + max + ", so not one packed sequence can be filled; lower max_seq_len or set packing: false");
        }
        if (packed.droppedTokens() > 0) {
            warnings.add(new ConfigWarning("packing", "packing left out the last " + packed.droppedTokens() + " of " + total
                    + " " + what + " tokens (not enough to fill one more " + max + "-token sequence)"));
        }
        return TextDataset.ofPacked(packed.sequences());
    }
}
