package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/**
 * A Llama-family decoder with its LM head ({@code lm_head}, or the embedding matrix when
 * {@code tie_word_embeddings}). Weights are loaded by HF name from a model folder
 * ({@code model.safetensors} or a sharded {@code model.safetensors.index.json}) in the compute
 * dtype, whatever the stored one. Frozen weights are owned by {@link #weights()}; close the model
 * to free them. Reference: transformers' LlamaForCausalLM (modeling_llama.py) and
 * ForCausalLMLoss (loss/loss_utils.py).
 */
public final class LlamaForCausalLM implements AutoCloseable {
    public static final long IGNORE_INDEX = -100;

    private final LlmConfig cfg;
    private final Weights weights;
    private final LlamaModel model;
    private final Linear lmHead;
    private int lossChunkSize = 1024;

    public LlamaForCausalLM(LlmConfig cfg, WeightSource source, Device device, DType dtype) {
        this.cfg = cfg;
        this.weights = new Weights(source, device, dtype);
        try {
            this.model = new LlamaModel(cfg, weights.pp("model"));
            this.lmHead = cfg.tieWordEmbeddings() ? new Linear(model.embedTokens().weight(), null)
                    : new Linear(weights.pp("lm_head"), cfg.hiddenSize(), cfg.vocabSize(), false);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** Loads an HF folder: config.json plus model.safetensors or model.safetensors.index.json. */
    public static LlamaForCausalLM load(Path dir, Device device, DType dtype) throws IOException {
        LlmConfig cfg = LlmConfig.read(dir);
        try (TensorSource src = TensorSource.open(weightsFile(dir))) {
            return new LlamaForCausalLM(cfg, new CheckpointWeights(src, dir.toString()), device, dtype);
        }
    }

    /** The folder's weights file: the sharded index when present, else model.safetensors. */
    public static Path weightsFile(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) return index;
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return single;
        throw new IOException(dir + ": no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are supported)");
    }

    /** Logits (B, T, V) in the compute dtype. positionIds and attentionMask may be null. */
    public Tensor logits(Tensor inputIds, Tensor positionIds, Tensor attentionMask) {
        return logits(inputIds, positionIds, attentionMask, null, null);
    }

    /** Logits with every option: packing sequence ids and a KV cache (both may be null). */
    public Tensor logits(Tensor inputIds, Tensor positionIds, Tensor attentionMask, Tensor sequenceIds, KvCache cache) {
        return lmHead.forward(model.forward(inputIds, positionIds, attentionMask, sequenceIds, cache));   // (B, T, V)
    }

    /** Sum of the next-token cross-entropy over target tokens (see {@link #lossSum(Tensor, Tensor, Tensor, Tensor)}). */
    public Tensor lossSum(Tensor inputIds, Tensor labels) { return lossSum(inputIds, labels, null, null); }

    /**
     * Sum over target tokens of the next-token cross-entropy, fp32 scalar: logits[:, :-1] against
     * labels[:, 1:] as transformers shifts them, labels {@value #IGNORE_INDEX} ignored (f64 for an f64 model). Divide by
     * {@link #targetCount} for HF's mean loss. The LM head and the cross-entropy run over chunks of
     * {@link #setLossChunkSize} positions, each checkpointed, so fp32 vocabulary-sized logits exist
     * for one chunk at a time, in backward too. When packing, set the label of each sequence's
     * first token to -100 so no sequence predicts the next one's start. Run backward before the
     * enclosing scope closes: the checkpointed chunks re-read tensors of this forward.
     */
    public Tensor lossSum(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
        long b = inputIds.size(0), t = inputIds.size(1);
        if (t < 2) throw new IllegalArgumentException("a loss needs at least 2 tokens per row (one to predict from), got " + t);
        // 1. hidden states for every position but the last (it has no next token)
        Tensor h = model.forward(inputIds, positionIds, null, sequenceIds, null).narrow(1, 0, t - 1);   // (B, T-1, C)
        Tensor target = labels.narrow(1, 1, t - 1);                                                      // (B, T-1)
        // 2. per chunk: LM head, fp32 logits, summed cross-entropy
        long chunk = lossChunkSize <= 0 ? t - 1 : lossChunkSize;
        List<Tensor> lmParams = lmHead.adapter() != null ? lmHead.adapter().parameters() : List.of();
        Tensor total = null;
        for (long s = 0; s < t - 1; s += chunk) {
            long n = Math.min(chunk, t - 1 - s);
            Tensor lc = target.narrow(1, s, n).reshape(b * n);                                           // (B*n)
            Tensor part = Checkpoint.apply(in -> List.of(chunkLoss(in.get(0), lc)), List.of(h.narrow(1, s, n)), lmParams, 1).get(0);
            total = total == null ? part : total.add(part);
        }
        return total;
    }

    private Tensor chunkLoss(Tensor hidden, Tensor labels) {
        long rows = hidden.size(0) * hidden.size(1);
        DType lossType = weights.dtype() == DType.F64 ? DType.F64 : DType.F32;   // f64 models (reference tests) keep f64
        Tensor logits = lmHead.forward(hidden).to(lossType).reshape(rows, cfg.vocabSize());            // (B*n, V)
        return Functional.crossEntropy(logits, labels, Functional.Reduction.SUM, IGNORE_INDEX, 0);
    }

    /** Number of target tokens in labels (B, T) after the shift: labels[:, 1:] != -100. */
    public static long targetCount(Tensor labels) {
        long t = labels.size(1);
        try (Tensor shifted = labels.narrow(1, 1, t - 1); Tensor keep = shifted.ne(IGNORE_INDEX); Tensor n = keep.sum()) {
            return n.itemLong();
        }
    }

    /** Positions per loss chunk (<= 0: the whole sequence at once). */
    public void setLossChunkSize(int positions) { lossChunkSize = positions; }

    public void setGradientCheckpointing(boolean on) { model.setGradientCheckpointing(on); }

    public KvCache newCache() { return new KvCache(cfg.numLayers()); }

    /** Every linear layer that can carry a LoRA, by HF module path (lm_head included unless tied). */
    public Map<String, LoraHost> loraHosts() { return weights.loraHosts(); }

    /** HF module paths of the decoder's linear layers, without lm_head (PEFT's "all-linear"). */
    public List<String> allLinearNames() {
        List<String> names = new ArrayList<>();
        for (String n : weights.loraHosts().keySet()) if (!n.equals("lm_head")) names.add(n);
        return names;
    }

    public LlmConfig config() { return cfg; }

    public Weights weights() { return weights; }

    public LlamaModel model() { return model; }

    public Linear lmHead() { return lmHead; }

    public Device device() { return weights.device(); }

    public DType dtype() { return weights.dtype(); }

    @Override public void close() {
        model.close();
        weights.close();
    }
}
