package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.FusedOps;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Linear4bit;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

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
    private boolean fusedLinearLoss = true;

    public LlamaForCausalLM(LlmConfig cfg, WeightSource source, Device device, DType dtype) {
        this(cfg, source, device, dtype, false);
    }

    /**
     * With {@code loadIn4bit}, each decoder linear layer's weight (q/k/v/o, gate/up/down) is quantised
     * to NF4 as it is loaded ({@link Linear4bit}, QLoRA's frozen base); embeddings, norms and lm_head
     * stay in the compute dtype, as bitsandbytes and PEFT leave them.
     */
    public LlamaForCausalLM(LlmConfig cfg, WeightSource source, Device device, DType dtype, boolean loadIn4bit) {
        this(cfg, source, device, dtype, loadIn4bit ? Quantization.NF4 : Quantization.NONE);
    }

    /** How the decoder's linear layers (q/k/v/o, gate/up/down) keep their frozen weights. */
    public enum Quantization {
        /** In the compute dtype. */
        NONE,
        /** 4-bit NF4 with double quantisation ({@link Linear4bit}; {@code load_in_4bit}, QLoRA). */
        NF4,
        /** float8 e4m3 with a float32 scale per output channel ({@link org.lorascripts.nn.Fp8Weight}; {@code load_in_8bit}). */
        FP8
    }

    /**
     * The decoder's linear layers quantised as {@code quantization} says, as they are loaded; embeddings, norms and
     * lm_head stay in the compute dtype, as bitsandbytes and PEFT leave them.
     */
    public LlamaForCausalLM(LlmConfig cfg, WeightSource source, Device device, DType dtype, Quantization quantization) {
        this.cfg = cfg;
        this.weights = new Weights(source, device, dtype);
        try {
            weights.setLoadIn4bit(quantization == Quantization.NF4);
            weights.setFp8Base(quantization == Quantization.FP8);
            LlamaModel decoder = new LlamaModel(cfg, weights.pp("model"));
            weights.setLoadIn4bit(false);
            weights.setFp8Base(false);
            this.model = decoder;
            this.lmHead = cfg.tieWordEmbeddings() ? new Linear(model.embedTokens().weight(), null)
                    : new Linear(weights.pp("lm_head"), cfg.hiddenSize(), cfg.vocabSize(), false);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** Loads an HF folder: config.json plus model.safetensors or model.safetensors.index.json. */
    public static LlamaForCausalLM load(Path dir, Device device, DType dtype) throws IOException {
        return load(dir, device, dtype, false);
    }

    /** As {@link #load(Path, Device, DType)}, with the decoder's linear layers as 4-bit NF4 when {@code loadIn4bit}. */
    public static LlamaForCausalLM load(Path dir, Device device, DType dtype, boolean loadIn4bit) throws IOException {
        return load(dir, device, dtype, loadIn4bit ? Quantization.NF4 : Quantization.NONE);
    }

    /** As {@link #load(Path, Device, DType)}, with the decoder's linear layers quantised as {@code quantization} says. */
    public static LlamaForCausalLM load(Path dir, Device device, DType dtype, Quantization quantization) throws IOException {
        LlmConfig cfg = LlmConfig.read(dir);
        try (TensorSource src = TensorSource.open(weightsFile(dir))) {
            return new LlamaForCausalLM(cfg, new CheckpointWeights(src, dir.toString()), device, dtype, quantization);
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
     * {@link #setLossChunkSize} positions (fewer where they would pass {@link #CHUNK_LOGIT_BYTES}), so fp32 vocabulary-sized logits exist for one chunk at a
     * time. When the head is frozen (no adapter, no gradient for its weight; tied or not) it is fused with the loss: each
     * chunk's gradient w.r.t. the hidden states is computed right away (softmax - one-hot, times the
     * head weight) and the logits are dropped, so backward never runs the head again (see
     * {@link #setFusedLinearLoss}). Otherwise each chunk is checkpointed (recomputed in backward,
     * so the head's adapter or weight gets its gradients). When packing, set the label of
     * each sequence's first token to -100 so no sequence predicts the next one's start. Run backward
     * before the enclosing scope closes: the checkpointed chunks re-read tensors of this forward.
     */
    public Tensor lossSum(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
        long b = inputIds.size(0), t = inputIds.size(1);
        if (t < 2) throw new IllegalArgumentException("a loss needs at least 2 tokens per row (one to predict from), got " + t);
        // 1. hidden states for every position but the last (it has no next token)
        Tensor hidden = model.forward(inputIds, positionIds, null, sequenceIds, null);                 // (B, T, C)
        Tensor h = hidden.narrow(1, 0, t - 1);                                                           // (B, T-1, C)
        Tensor target = labels.narrow(1, 1, t - 1);                                                      // (B, T-1)
        // 2. per chunk: LM head, fp32 logits, summed cross-entropy
        long chunk = chunkPositions(b, t - 1, lossChunkSize, cfg.vocabSize());
        if (fusedLinearLoss && headIsFrozen()) {
            Tensor loss = fusedLossSum(h, target, chunk);
            // nothing of the graph saved the hidden states: free them now, backward needs only the gradient
            h.close();
            hidden.close();
            return loss;
        }
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

    /**
     * The fused LM head + cross-entropy (the scheme of Liger-Kernel's FusedLinearCrossEntropy): per
     * chunk, under no-grad, logits = head(h) in the compute dtype, upcast for the loss; the summed
     * cross-entropy is added to the total, and d(loss)/d(logits) = softmax - one-hot (zero rows for
     * ignored labels), cast back to the compute dtype and multiplied by the head weight (V, C), is
     * d(loss)/d(h) for that chunk's rows. The result carries that gradient to h: backward scales it
     * by the incoming gradient, the head runs once per token.
     */
    private Tensor fusedLossSum(Tensor h, Tensor target, long chunk) {
        boolean needGrad = Autograd.isGradEnabled() && h.requiresGrad();
        long b = h.size(0), n = h.size(1), c = h.size(2), v = cfg.vocabSize();
        DType lossType = weights.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Tensor total = Torch.zeros(new long[0], lossType, h.device());
        Tensor gradH = null;
        try (var ng = Autograd.noGrad()) {
            for (long s = 0; s < n; s += chunk) {
                long len = Math.min(chunk, n - s);
                try (Scope cs = Scope.open()) {
                    long rows = b * len;
                    Tensor lc = target.narrow(1, s, len).reshape(rows);                                  // (B*len)
                    Tensor out = lmHead.forward(h.narrow(1, s, len));                                 // (B, len, V), compute dtype
                    DType compute = out.dtype();
                    Tensor flat = out.reshape(rows, v);
                    // on CUDA, one kernel: the rows' losses, and the gradient written over the logits in their dtype
                    Tensor rowLoss = lossType == DType.F32 ? FusedOps.crossEntropyRows(flat, lc, needGrad) : null;
                    Tensor g = flat;                                                                  // d loss / d logits, compute dtype
                    if (rowLoss == null) {
                        Tensor z = flat.to(lossType);                                                 // a copy unless already lossType
                        // one copy of the chunk's logits at a time: the compute-dtype one goes once widened
                        if (compute != lossType) { flat.close(); out.close(); }
                        rowLoss = FusedOps.crossEntropyRowsInPlace(z, lc, needGrad);
                        if (needGrad) {
                            g = z.to(compute);
                            if (compute != lossType) z.close();
                        }
                    }
                    total.add_(rowLoss.sum());
                    if (!needGrad) continue;
                    Tensor w = lmHead.weight().dtype() == compute ? lmHead.weight() : lmHead.weight().to(compute);
                    Tensor gh = g.mm(w);                                                              // (B*len, C)
                    if (gradH == null) gradH = cs.moveToOuter(Torch.empty(h.shape(), gh.dtype(), h.device()));
                    gradH.narrow(1, s, len).copy_(gh.view(b, len, c));
                }
            }
        }
        if (!needGrad) return total;
        Tensor loss = Autograd.withPrecomputedGrad(total, h, gradH);
        total.close();
        gradH.close();   // the graph holds it until backward
        return loss;
    }

    /**
     * At most this many bytes of fp32 logits per loss chunk (an eighth of a GiB): 256 positions of Llama 3's 128k
     * vocabulary. While a chunk is widened its compute-dtype copy lives too, so the head holds 1.5x this at its peak,
     * about the transient of the last decoder layer's backward on the 8B shape (0.19 GiB).
     */
    static final long CHUNK_LOGIT_BYTES = 128L << 20;

    /** The head's GEMM runs on tiles of this many rows: a chunk bounded by bytes is cut to a whole number of them. */
    static final long CHUNK_ROW_MULTIPLE = 128;

    /**
     * Positions per loss chunk: {@code positions} (the whole sequence when <= 0), fewer where a chunk's fp32 logits
     * (batch x positions x vocabulary x 4 bytes) would pass {@link #CHUNK_LOGIT_BYTES}, at least 1. A chunk cut by that
     * bound keeps batch x positions a multiple of {@link #CHUNK_ROW_MULTIPLE} where the bound allows one: 523 positions
     * would leave the GEMM's last row tile with 11 rows of 128, a fifth of its work wasted.
     */
    static long chunkPositions(long batch, long length, int positions, long vocab) {
        long chunk = positions <= 0 ? length : Math.min(positions, length);
        long rows = Math.max(1, batch);
        long bound = Math.max(1, CHUNK_LOGIT_BYTES / (4 * vocab * rows));
        // positions per whole number of tiles: 128 / gcd(128, rows), the gcd of a power of two being its shared factors of 2
        long unit = CHUNK_ROW_MULTIPLE >> Math.min(Long.numberOfTrailingZeros(rows), Long.numberOfTrailingZeros(CHUNK_ROW_MULTIPLE));
        if (bound >= unit) bound = bound / unit * unit;
        return Math.max(1, Math.min(chunk, bound));
    }

    /** No adapter on the head and no gradient wanted for its weight (nor bias): the fused loss applies. */
    private boolean headIsFrozen() {
        return lmHead.adapter() == null && !lmHead.weight().requiresGrad() && (lmHead.bias() == null || !lmHead.bias().requiresGrad());
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

    /**
     * Whether {@link #lossSum} fuses a head without adapter with the loss (default on). Off: every
     * chunk is checkpointed, as with an adapter on the head (tests compare the two).
     */
    public void setFusedLinearLoss(boolean on) { fusedLinearLoss = on; }

    /**
     * Positions per loss chunk (<= 0: the whole sequence at once); fewer where the chunk's fp32 logits would pass
     * {@link #CHUNK_LOGIT_BYTES}.
     */
    public void setLossChunkSize(int positions) { lossChunkSize = positions; }

    public void setGradientCheckpointing(boolean on) { model.setGradientCheckpointing(on); }

    /** Each layer's attention runs again in backward instead of keeping q, k, v and its output ({@link LlamaModel#setAttentionRecompute}). */
    public void setAttentionRecompute(boolean on) { model.setAttentionRecompute(on); }

    public boolean attentionRecompute() { return model.attentionRecompute(); }

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
