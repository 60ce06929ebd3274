package org.lorascripts.tasks.llm;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.DatasetException;
import org.lorascripts.data.TextBatch;
import org.lorascripts.data.TextDataOptions;
import org.lorascripts.data.TextDataSplit;
import org.lorascripts.data.TextDataset;
import org.lorascripts.data.TextRecord;
import org.lorascripts.data.TextRecordReader;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.lora.PeftAdapter;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.lora.PeftAdapterWriter;
import org.lorascripts.lora.PeftTargets;
import org.lorascripts.data.TokenizedExample;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TokenizerException;
import org.lorascripts.train.SampleSink;
import org.lorascripts.train.TrainingDevice;
import org.lorascripts.train.TrainingException;
import org.lorascripts.train.TrainingTask;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmModelFolder;

/**
 * LoRA fine-tuning of a Llama-family causal LM on text (task_type: text-generation). The unit of
 * the loss is the target token: {@link #lossSum} sums the next-token cross-entropy over a
 * micro-batch's target tokens and {@link #weight} counts them from the tokenised data alone, so
 * the loop's window normalisation gives a token-mean loss over the whole accumulation window.
 *
 * <p>Frozen weights are bf16/fp16 on CUDA when mixed_precision asks for it (the autocast dtype),
 * else fp32; LoRA masters are always fp32. Batches are padded on the right without an attention
 * mask: attention is causal, so real tokens never see the padding, whose labels are ignored. With
 * packing, position ids restart per example and sequence ids keep attention inside each example.
 * The adapter is exported as a PEFT folder named {@code output_name}.
 */
public final class LlmLoraTask implements TrainingTask {
    /** New tokens per eval_prompts completion during training. */
    public static final int SAMPLE_MAX_NEW_TOKENS = 64;

    private final TrainConfig config;
    private final LlmModelFolder base;
    private final HfTokenizer tokenizer;
    private final LlamaForCausalLM model;
    private final LoraNetwork net;
    private final TextDataset train;
    private final TextDataset val;
    private final ChatRenderer sampleChat;
    private final List<ConfigWarning> warnings;
    private final double dropout;
    private final boolean rsLora;
    private final Map<Integer, String> baseCompletions = new java.util.HashMap<>();
    private final List<String> lastSamples = new java.util.ArrayList<>();

    public LlmLoraTask(TrainConfig config) {
        this(config, System.err, null);
    }

    /**
     * @param console where data warnings are printed
     * @param computeDType the frozen weights' dtype, or null for the rule above (tests use f64)
     */
    LlmLoraTask(TrainConfig config, PrintStream console, DType computeDType) {
        this.config = config;
        Device device = TrainingDevice.resolve(config.loop().device());
        DType dtype = computeDType != null ? computeDType : frozenDType(config.loop().mixedPrecision(), device);
        HfTokenizer tok = null;
        LlamaForCausalLM m = null;
        LoraNetwork n = null;
        List<String> mixSummary = List.of();
        try {
            base = LlmModelFolder.resolve(config.model().baseModel());
            tok = HfTokenizer.load(base.dir());
            // data first: a data error should not wait for the model to load
            TextDataSplit split = TextDataset.load(config.text().trainData(), TextDataOptions.from(config), tok);
            mixSummary = split.mixSummary();
            if (config.model().loadIn8bit() && !DType.F8E4M3.available()) {
                throw new TrainingException("load_in_8bit: " + DType.F8E4M3.unavailableReason() + ", load_in_4bit, or neither");
            }
            m = LlamaForCausalLM.load(base.dir(), device, dtype, config.model().loadIn4bit() ? LlamaForCausalLM.Quantization.NF4
                    : config.model().loadIn8bit() ? LlamaForCausalLM.Quantization.FP8 : LlamaForCausalLM.Quantization.NONE);
            m.setGradientCheckpointing(config.loop().gradientCheckpointing());
            m.setAttentionRecompute(config.loop().recomputeAttention());
            Optional<Path> resume = config.model().networkWeights();
            if (resume.isPresent()) {
                try (PeftAdapter a = PeftAdapterReader.read(resume.get())) {
                    if (a.config().useDora() != config.lora().useDora()) {
                        throw new TrainingException("network_weights " + resume.get() + " is " + (a.config().useDora() ? "a DoRA" : "a plain LoRA")
                                + " adapter; set use_dora: " + a.config().useDora() + " to continue it");
                    }
                    n = a.attach(m.loraHosts(), device);
                    dropout = a.config().loraDropout();
                    rsLora = a.config().useRslora();
                }
            } else {
                TrainConfig.Lora l = config.lora();
                n = LoraNetwork.inject(m.loraHosts(), targets(config.lora().targetModules()),
                        new LoraSpec(l.rank(), l.alpha(), l.dropout(), 0, 0, l.useRslora()),
                        l.useDora() ? LoraAdapter.Decomposition.OUTPUT : LoraAdapter.Decomposition.NONE, device);
                dropout = l.dropout();
                rsLora = l.useRslora();
                if (n.size() == 0) {
                    throw new TrainingException("target_modules " + l.targetModules() + " match no linear layer of " + base.name()
                            + "; its layers are " + PeftTargets.shortNames(m.allLinearNames()) + " (or use all-linear)");
                }
            }
            n.setTraining(true);
            train = split.train();
            val = split.val().orElse(null);
            warnings = split.warnings();
            sampleChat = sampleChatFormat(config, split.chatFormat());
        } catch (IOException | TokenizerException | IllegalArgumentException e) {
            // missing files, a broken tokenizer, an adapter for another model: one line for the user
            closeAll(n, m, tok);
            throw new TrainingException(e.getMessage(), e);
        } catch (RuntimeException e) {
            closeAll(n, m, tok);
            throw e;
        }
        tokenizer = tok;
        model = m;
        net = n;
        for (String line : mixSummary) console.println("data: " + line);
        if (config.model().loadIn4bit() || config.model().loadIn8bit()) console.println("model: " + quantizedSummary(model));
        for (ConfigWarning w : warnings) console.println("warning: " + w.message());
        console.flush();
    }

    /** "N decoder linear layers as 4-bit NF4: X MiB (Y MiB in DTYPE)", or as 8-bit float. */
    static String quantizedSummary(LlamaForCausalLM m) {
        long n = 0, bytes = 0, dense = 0;
        boolean nf4 = false;
        for (var h : m.loraHosts().values()) {
            if (!h.quantized()) continue;
            n++;
            long numel = 1;
            for (long d : h.weightShape()) numel *= d;
            dense += numel * m.dtype().byteSize;
            if (h instanceof org.lorascripts.nn.Linear4bit q) {
                nf4 = true;
                bytes += q.state().bytes();
            } else {
                bytes += org.lorascripts.nn.Fp8Weight.bytes(h.weightShape());
            }
        }
        return String.format(java.util.Locale.ROOT, "%d decoder linear layers as %s: %.1f MiB (%.1f MiB in %s)",
                n, nf4 ? "4-bit NF4" : "8-bit float (e4m3)", bytes / 1048576.0, dense / 1048576.0, m.dtype().name().toLowerCase(java.util.Locale.ROOT));
    }

    /** The frozen weights' dtype: the autocast dtype on CUDA, fp32 otherwise. */
    static DType frozenDType(MixedPrecision mp, Device device) {
        if (!device.isCuda()) return DType.F32;
        return switch (mp) {
            case NO -> DType.F32;
            case FP16 -> DType.F16;
            case BF16 -> DType.BF16;
        };
    }

    private static Predicate<String> targets(List<String> modules) {
        if (modules.contains(PeftTargets.ALL_LINEAR)) return PeftTargets.select(null, PeftTargets.ALL_LINEAR, null, "lm_head");
        return PeftTargets.select(modules, null, null, "lm_head");
    }

    /**
     * Completions during training use the chat markup the model learns: a template set in the
     * config, or with chat_template auto the tokenizer's, but only when the training data is
     * conversational (a plain-text run has never seen the markup).
     */
    private static ChatRenderer sampleChatFormat(TrainConfig c, ChatRenderer resolved) {
        if (!resolved.hasMarkup() || c.model().chatTemplate() != ChatTemplate.AUTO || c.text().chatTemplateFile().isPresent()) return resolved;
        if (c.sample().evalPrompts().isEmpty()) return ChatFormat.NONE;
        for (Path source : c.text().trainData()) {
            List<TextRecord> records = TextRecordReader.read(source, c.text().dataFormat(), "train_data");
            if (records.stream().anyMatch(r -> r instanceof TextRecord.Chat)) return resolved;
        }
        return ChatFormat.NONE;
    }

    @Override public List<NamedParam> trainableParameters() { return net.trainableParameters(1.0, config.optimizer().loraPlusLrRatio()); }

    @Override public int trainSize() { return train.size(); }

    @Override public int valSize() { return val == null ? 0 : val.size(); }

    @Override public double weight(int[] exampleIndices, boolean validation) {
        return dataset(validation).targetTokenCount(exampleIndices);
    }

    @Override public Tensor lossSum(int[] exampleIndices, boolean validation) {
        net.setTraining(!validation);
        TextBatch b = dataset(validation).collate(exampleIndices);   // CPU tensors of the caller's scope
        Device d = model.device();
        Tensor positions = b.packed() ? b.positionIds().to(d) : null;
        Tensor sequences = b.packed() ? sequenceIds(b).to(d) : null;
        return model.lossSum(b.inputIds().to(d), b.labels().to(d), positions, sequences);
    }

    /** Sequence lengths in graphed steps above this are rounded up to a multiple of it, so few shapes need a graph. */
    static final int GRAPH_LENGTH_MULTIPLE = 128;

    /** The padded length of a graphed step: the next power of two (at least 16) up to 128, then multiples of 128. */
    static long graphLength(long t) {
        if (t <= GRAPH_LENGTH_MULTIPLE) return Math.max(16, Long.highestOneBit(Math.max(1, t - 1)) << 1);
        return (t + GRAPH_LENGTH_MULTIPLE - 1) / GRAPH_LENGTH_MULTIPLE * GRAPH_LENGTH_MULTIPLE;
    }

    /**
     * CUDA graphs: the micro-batch's token ids and labels (packed: also positions and sequence ids) on
     * the device, right-padded to {@link #graphLength} positions with ignored
     * labels (causal attention: the padding changes no real position's logits, and ignored labels add
     * no loss), so batches of similar length share a graph.
     */
    @Override public List<Tensor> stepInputs(int[] exampleIndices) {
        TextBatch b = train.collate(exampleIndices);
        Device d = model.device();
        long t = b.inputIds().size(1);
        long padded = graphLength(t);
        List<Tensor> in = new ArrayList<>();
        in.add(padRight(b.inputIds(), padded, 0).to(d));
        in.add(padRight(b.labels(), padded, TokenizedExample.IGNORE).to(d));
        if (b.packed()) {
            in.add(padRight(b.positionIds(), padded, 0).to(d));
            // padding continues the last sequence's id: it attends only within that sequence and predicts nothing
            Tensor seq = sequenceIds(b);
            in.add(padRight(seq, padded, -1, seq).to(d));
        }
        return in;
    }

    @Override public Tensor lossSumFromInputs(List<Tensor> in) {
        net.setTraining(true);
        return model.lossSum(in.get(0), in.get(1), in.size() > 2 ? in.get(2) : null, in.size() > 3 ? in.get(3) : null);
    }

    /** x (B, T) int64 right-padded to (B, to) with value (or, value -1 with last != null, each row's last element). */
    private static Tensor padRight(Tensor x, long to, long value) { return padRight(x, to, value, null); }

    private static Tensor padRight(Tensor x, long to, long value, Tensor repeatLast) {
        long rows = x.size(0), t = x.size(1);
        if (to == t) return x;
        Tensor fill = repeatLast != null
                ? repeatLast.narrow(1, t - 1, 1).expand(rows, to - t).contiguous()
                : Torch.full(new long[] {rows, to - t}, value, DType.I64, x.device());
        return Torch.cat(List.of(x, fill), 1);
    }

    /** (B, T) int64: the number of the packed example each token belongs to (0, 0, 0, 1, 1, 2, ...). */
    static Tensor sequenceIds(TextBatch b) {
        int rows = b.batchSize();
        int t = (int) b.inputIds().size(1);
        long[] ids = new long[rows * t];
        for (int r = 0; r < rows; r++) {
            int[] starts = b.sequenceStarts().get(r);
            int s = 0;
            for (int i = 0; i < t; i++) {
                while (s + 1 < starts.length && starts[s + 1] <= i) s++;
                ids[r * t + i] = s;
            }
        }
        return Torch.of(ids, rows, t);
    }

    private TextDataset dataset(boolean validation) {
        if (validation && val == null) throw new IllegalStateException("no validation split");
        return validation ? val : train;
    }

    @Override public void exportAdapter(Path target, Map<String, String> metadata) throws IOException {
        // PEFT's adapter_model.safetensors carries only {"format": "pt"}; the run's metadata lives in trainer_state.json
        PeftAdapterWriter.write(target, net, base.name(), dropout, rsLora, saveDType());
    }

    private DType saveDType() {
        return switch (config.output().savePrecision()) {
            case FP16 -> DType.F16;
            case BF16 -> DType.BF16;
            case FP32 -> DType.F32;
        };
    }

    @Override public String adapterFileName(String outputName) { return outputName; }

    /**
     * Greedy completions of the eval prompts. With sample_with_base each sample also holds the base
     * model's completion (the LoRA at multiplier 0, computed once), and the last pair of every
     * prompt is printed at the end of the run.
     */
    @Override public void sample(long step, SampleSink sink) {
        List<String> prompts = config.sample().evalPrompts();
        if (prompts.isEmpty()) return;
        net.setTraining(false);
        try {
            PromptCompleter completer = new PromptCompleter(model, tokenizer, sampleChat);
            lastSamples.clear();
            for (int i = 0; i < prompts.size(); i++) {
                String prompt = prompts.get(i);
                String text = complete(completer, prompt);
                if (config.sample().withBase()) {
                    String before = baseCompletions.computeIfAbsent(i, k -> {
                        net.setMultiplier(0);
                        try {
                            return complete(completer, prompt);
                        } finally {
                            net.setMultiplier(1);
                        }
                    });
                    sink.text("sample/" + i, "prompt: " + prompt + "\nbase:   " + before + "\nLoRA:   " + text);
                    lastSamples.add("  " + prompt + "\n    base: " + oneLine(before) + "\n    LoRA: " + oneLine(text));
                } else {
                    sink.text("sample/" + i, prompt + " → " + text);
                    lastSamples.add("  " + prompt + " → " + oneLine(text));
                }
            }
        } finally {
            net.setTraining(true);
        }
    }

    private static String complete(PromptCompleter completer, String prompt) {
        return completer.complete(prompt, Generator.Options.greedy(SAMPLE_MAX_NEW_TOKENS)).text();
    }

    private static String oneLine(String s) { return s.strip().replaceAll("\\s+", " "); }

    @Override public List<String> summary() {
        if (lastSamples.isEmpty()) return List.of();
        List<String> lines = new java.util.ArrayList<>();
        lines.add(config.sample().withBase() ? "eval prompts, the base model and with the LoRA (greedy):" : "eval prompts (greedy):");
        lines.addAll(lastSamples);
        return lines;
    }

    @Override public boolean reportsPerplexity() { return true; }

    /** Warnings from reading the data (truncated or skipped examples, packing remainders). */
    public List<ConfigWarning> warnings() { return warnings; }

    public LlamaForCausalLM model() { return model; }

    public HfTokenizer tokenizer() { return tokenizer; }

    public LoraNetwork network() { return net; }

    /** The base model's folder and the name written into adapter_config.json. */
    public LlmModelFolder baseModel() { return base; }

    public TextDataset trainData() { return train; }

    public ChatRenderer sampleChatFormat() { return sampleChat; }

    /** Adapters by module path. */
    public Map<String, LoraAdapter> adapters() { return net.adapters(); }

    @Override public void close() { closeAll(net, model, tokenizer); }

    private static void closeAll(LoraNetwork n, LlamaForCausalLM m, HfTokenizer t) {
        if (n != null) n.close();
        if (m != null) m.close();
        if (t != null) t.close();
    }
}
