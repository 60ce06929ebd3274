package org.lorascripts.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.config.DataFormat;
import org.lorascripts.config.MixStrategy;
import org.lorascripts.config.TrainConfig;

/** The settings that shape a text dataset, taken from {@link TrainConfig} or built directly in tests. */
public record TextDataOptions(DataFormat format, ChatTemplate chatTemplate, int maxSeqLen, boolean packing,
                              double valRatio, Optional<Path> valDataDir, long seed, Optional<Path> chatTemplateFile,
                              boolean trainOnInputs, MixStrategy mixStrategy, List<Double> interleaveProbs) {
    public TextDataOptions(DataFormat format, ChatTemplate chatTemplate, int maxSeqLen, boolean packing,
                           double valRatio, Optional<Path> valDataDir, long seed) {
        this(format, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, Optional.empty(), false);
    }

    public TextDataOptions(DataFormat format, ChatTemplate chatTemplate, int maxSeqLen, boolean packing,
                           double valRatio, Optional<Path> valDataDir, long seed, Optional<Path> chatTemplateFile,
                           boolean trainOnInputs) {
        this(format, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, chatTemplateFile, trainOnInputs,
                MixStrategy.CONCAT, List.of());
    }

    public TextDataOptions {
        if (maxSeqLen < 2) throw new IllegalArgumentException("max_seq_len must be at least 2, got " + maxSeqLen);
        if (valRatio < 0 || valRatio >= 1) throw new IllegalArgumentException("val_ratio must be in [0, 1), got " + valRatio);
        interleaveProbs = List.copyOf(interleaveProbs);
    }

    public static TextDataOptions from(TrainConfig c) {
        return new TextDataOptions(c.text().dataFormat(), c.model().chatTemplate(), c.text().maxSeqLen(), c.text().packing(),
                c.data().valRatio(), c.data().valDataDir(), c.loop().seed(), c.text().chatTemplateFile(), c.text().trainOnInputs(),
                c.text().mixStrategy(), c.text().interleaveProbs());
    }

    /** Defaults for code and tests: auto format and template, no packing, no validation split. */
    public static TextDataOptions of(int maxSeqLen) {
        return new TextDataOptions(DataFormat.AUTO, ChatTemplate.AUTO, maxSeqLen, false, 0, Optional.empty(), 0);
    }

    public TextDataOptions withPacking(boolean p) { return new TextDataOptions(format, chatTemplate, maxSeqLen, p, valRatio, valDataDir, seed, chatTemplateFile, trainOnInputs, mixStrategy, interleaveProbs); }

    public TextDataOptions withChatTemplate(ChatTemplate t) { return new TextDataOptions(format, t, maxSeqLen, packing, valRatio, valDataDir, seed, chatTemplateFile, trainOnInputs, mixStrategy, interleaveProbs); }

    public TextDataOptions withFormat(DataFormat f) { return new TextDataOptions(f, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, chatTemplateFile, trainOnInputs, mixStrategy, interleaveProbs); }

    public TextDataOptions withValRatio(double r, long s) { return new TextDataOptions(format, chatTemplate, maxSeqLen, packing, r, valDataDir, s, chatTemplateFile, trainOnInputs, mixStrategy, interleaveProbs); }

    public TextDataOptions withValDataDir(Path dir) { return new TextDataOptions(format, chatTemplate, maxSeqLen, packing, valRatio, Optional.of(dir), seed, chatTemplateFile, trainOnInputs, mixStrategy, interleaveProbs); }

    /** How several train_data datasets mix; {@code probs} empty for round-robin. */
    public TextDataOptions withMix(MixStrategy m, List<Double> probs) { return new TextDataOptions(format, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, chatTemplateFile, trainOnInputs, m, probs); }

    public TextDataOptions withTrainOnInputs(boolean t) { return new TextDataOptions(format, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, chatTemplateFile, t, mixStrategy, interleaveProbs); }

    public TextDataOptions withChatTemplateFile(Path f) { return new TextDataOptions(format, chatTemplate, maxSeqLen, packing, valRatio, valDataDir, seed, Optional.of(f), trainOnInputs, mixStrategy, interleaveProbs); }

    /** The chat renderer these options name for this tokenizer (the model's Jinja template, a file, or a builtin). */
    public org.lorascripts.text.ChatRenderer chatRenderer(org.lorascripts.text.HfTokenizer tokenizer) {
        try {
            return org.lorascripts.text.ChatRenderers.resolve(chatTemplate, chatTemplateFile, tokenizer);
        } catch (IllegalArgumentException e) {
            throw new DatasetException(e.getMessage());
        }
    }
}
