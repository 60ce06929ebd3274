package org.lorascripts.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import java.util.SplittableRandom;
import org.lorascripts.text.BpeDropoutEncoder;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerWriter;

/**
 * Pretrains {@code builtin:tiny-llama} from scratch on {@link TextCorpus}: a byte-level BPE
 * tokenizer learned from the corpus, then a 4-layer LLaMA (hidden 128, grouped-query attention)
 * trained on packed 128-token windows of the tokenized paragraphs; written as an HF model folder
 * (config.json, model.safetensors in fp16, tokenizer.json, tokenizer_config.json).
 */
public final class TinyLlamaPretrainer {
    private TinyLlamaPretrainer() {}

    public static final long HIDDEN = 128, INTERMEDIATE = 384;
    public static final int LAYERS = 4, HEADS = 4, KV_HEADS = 2;

    /** Knobs of a run; {@link #defaults()} are the recorded settings of the shipped model. */
    public record Options(long seed, int paragraphs, int tokenizerParagraphs, int merges, double bpeDropout, int seqLen, int steps,
                          int batch, double lr, boolean bf16, double budgetSeconds) {
        public static Options defaults() {
            return new Options(20261204L, 600_000, 4000, 1200, 0.1, 128, 23_323, 128, 2e-3, true, 0);
        }
    }

    public static LlmConfig config(int vocab) {
        return LlmConfig.llama(vocab, HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, 10000.0);
    }

    /** Prompts whose greedy continuations are printed after training. */
    static final List<String> PROMPTS = List.of("Anna wakes up early on", "To make vegetable soup,", "The fox lives",
            "In winter, the days are", "To brew green tea,");

    public static Path run(Options o, Device device, Path out, PrintStream log) throws IOException {
        Path dir = out.resolve("tiny-llama");
        Files.createDirectories(dir);
        Rng.manualSeed(o.seed());
        StringBuilder sample = new StringBuilder();
        for (int i = 0; i < o.tokenizerParagraphs(); i++) sample.append(TextCorpus.paragraph(o.seed(), i)).append('\n');
        TinyTokenizerWriter.write(dir, sample.toString(), o.merges());
        JsonNode tokJson = Json.read(dir.resolve("tokenizer.json"));
        int vocab = TinyLlamaBuiltin.vocabSize(tokJson);
        long bos = TinyLlamaBuiltin.addedTokenId(tokJson, "<s>"), eos = TinyLlamaBuiltin.addedTokenId(tokJson, "</s>");
        log.printf(Locale.ROOT, "tiny-llama: tokenizer with %d ids%n", vocab);

        long[] stream = tokenize(o, tokJson, bos, eos);
        long windows = stream.length / o.seqLen();
        stream = java.util.Arrays.copyOf(stream, (int) (windows * o.seqLen()));
        log.printf(Locale.ROOT, "tiny-llama: %d paragraphs -> %d tokens, %d windows of %d%n", o.paragraphs(), stream.length, windows, o.seqLen());
        LlmConfig cfg = config(vocab);
        try (Tensor cpu = Torch.of(stream, windows, o.seqLen()); Tensor data = cpu.to(DType.I64, device);
             LlamaForCausalLM model = new LlamaForCausalLM(cfg, RandomWeights.fanIn(o.seed() + 7), device, DType.F32)) {
            long heldOut = Math.max(1, windows / 100);                               // the last 1 % for validation
            Map<String, Tensor> weights = new LinkedHashMap<>(model.weights().loadedTensors());
            try (FullTraining t = new FullTraining("llm", weights, o.lr(), 0.1, 300, o.steps(), 0.0, device, log, 250)
                    .withTimeBudget(o.budgetSeconds())) {
                while (!t.done()) {
                    try (Scope s = Scope.open(); Autocast ac = o.bf16() && device.isCuda() ? Autocast.enable(device.type(), DType.BF16) : null) {
                        Tensor idx = Torch.randint(0, windows - heldOut, new long[] {o.batch()}, device);
                        Tensor ids = data.indexSelect(0, idx);                              // (B, T)
                        t.step(model.lossSum(ids, ids).div((double) o.batch() * (o.seqLen() - 1)));
                    }
                }
                log.printf(Locale.ROOT, "tiny-llama: %d steps in %.0fs; held-out loss %.4f%n", t.step(), t.seconds(),
                        heldOutLoss(model, data, windows - heldOut, windows, device));
            }
            Map<String, Tensor> save = new LinkedHashMap<>();
            for (var e : model.weights().loadedTensors().entrySet()) save.put(e.getKey(), e.getValue().detach());
            try (Scope s = Scope.open()) {
                Map<String, Tensor> half = new LinkedHashMap<>();
                save.forEach((k, v) -> half.put(k, v.to(DType.F16)));
                TensorIO.save(dir.resolve("model.safetensors"), half, Map.of("format", "pt"));
            }
            writeConfig(dir, cfg, tokJson);
            try (HfTokenizer tok = HfTokenizer.load(dir)) {
                Generator gen = new Generator(model);
                for (String prompt : PROMPTS) {
                    long[] p = prefixBos(tok.encode(prompt), bos);
                    long[] ids = gen.generate(p, Generator.Options.greedy(40).withEos(eos));
                    log.println("  " + prompt + " → " + tok.decode(ids, true).replace('\n', ' '));
                }
            }
        }
        return dir;
    }

    /**
     * The corpus as one stream of {@code <s> paragraph </s>}, encoded with BPE-dropout so the model
     * also sees words split into pieces: new words in a LoRA's data (spelled from pieces the merges
     * never joined) are then not foreign to it.
     */
    private static long[] tokenize(Options o, JsonNode tokJson, long bos, long eos) {
        BpeDropoutEncoder enc = BpeDropoutEncoder.of(tokJson);
        long[][] parts = new long[o.paragraphs()][];
        java.util.stream.IntStream.range(0, o.paragraphs()).parallel().forEach(i -> {
            long index = o.tokenizerParagraphs() + i;
            parts[i] = enc.encode(TextCorpus.paragraph(o.seed(), index), o.bpeDropout(), new SplittableRandom(o.seed() ^ (index * 0x9E3779B97F4A7C15L)));
        });
        int total = 0;
        for (long[] p : parts) total += p.length + 2;
        long[] stream = new long[total];
        int k = 0;
        for (long[] p : parts) {
            stream[k++] = bos;
            System.arraycopy(p, 0, stream, k, p.length);
            k += p.length;
            stream[k++] = eos;
        }
        return stream;
    }

    private static long[] prefixBos(long[] ids, long bos) {
        long[] r = new long[ids.length + 1];
        r[0] = bos;
        System.arraycopy(ids, 0, r, 1, ids.length);
        return r;
    }

    /** Mean next-token loss over windows [from, to). */
    private static double heldOutLoss(LlamaForCausalLM model, Tensor data, long from, long to, Device device) {
        double sum = 0;
        long tokens = 0;
        try (Autograd.GradMode g = Autograd.noGrad()) {
            for (long s = from; s < to; s += 64) {
                long n = Math.min(64, to - s);
                try (Scope sc = Scope.open()) {
                    Tensor ids = data.narrow(0, s, n);
                    sum += model.lossSum(ids, ids).item();
                    tokens += n * (ids.size(1) - 1);
                }
            }
        }
        return sum / tokens;
    }

    private static void writeConfig(Path dir, LlmConfig cfg, JsonNode tokJson) throws IOException {
        ObjectNode c = cfg.toJson();  // put() on a present key keeps its place, as in the file transformers writes
        c.put("bos_token_id", TinyLlamaBuiltin.addedTokenId(tokJson, "<s>"));
        c.put("eos_token_id", TinyLlamaBuiltin.addedTokenId(tokJson, "</s>"));
        c.put("pad_token_id", TinyLlamaBuiltin.addedTokenId(tokJson, "<pad>"));
        c.put("torch_dtype", "float16");
        Json.writePrettyFile(dir.resolve("config.json"), c);
    }
}
