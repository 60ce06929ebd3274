package org.lorascripts.models.llm;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Embedding;
import org.lorascripts.nn.FusedOps;
import org.lorascripts.nn.Linear4bit;
import org.lorascripts.nn.LinearLayer;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RmsNorm;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/**
 * The Llama decoder stack (embeddings, N decoder layers, final RMSNorm), also used for Mistral and
 * Qwen2 through {@link LlmConfig} switches. HF module names: {@code embed_tokens},
 * {@code layers.N.self_attn.{q,k,v,o}_proj}, {@code layers.N.mlp.{gate,up,down}_proj},
 * {@code layers.N.input_layernorm}, {@code layers.N.post_attention_layernorm}, {@code norm}.
 * Reference: https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py
 * (LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP; modeling_qwen2.py and
 * modeling_mistral.py differ only in biases and sliding windows).
 */
public final class LlamaModel implements AutoCloseable {
    private final LlmConfig cfg;
    private final Embedding embedTokens;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final RotaryEmbedding rotary;
    private boolean gradientCheckpointing;
    private boolean attentionRecompute;

    /** {@code w} names the model's root, {@code model} in a *ForCausalLM checkpoint. */
    public LlamaModel(LlmConfig cfg, Weights w) {
        this.cfg = cfg;
        this.embedTokens = new Embedding(w.pp("embed_tokens"), cfg.vocabSize(), cfg.hiddenSize());
        for (int i = 0; i < cfg.numLayers(); i++) layers.add(new DecoderLayer(cfg, w.pp("layers").pp(i), i));
        this.norm = new RmsNorm(w.pp("norm"), cfg.hiddenSize(), cfg.rmsNormEps());
        this.rotary = new RotaryEmbedding(cfg.rope(), cfg.headDim(), w.device());
    }

    /** Per-forward inputs shared by all layers: RoPE tables and the attention masks. */
    record Context(Tensor cos, Tensor sin, AttentionMask full, AttentionMask windowed, KvCache cache) {}

    /**
     * Hidden states after the final norm.
     *
     * @param inputIds      (B, T) int64
     * @param positionIds   (B, T) int64, or null for cache offset + arange(T); restart them per example when packing
     * @param attentionMask (B, Tk) 1 = token, 0 = padding (Tk = cached + T), or null
     * @param sequenceIds   (B, T) packed-sequence number per token (block-diagonal causal attention), or null
     * @param cache         the KV cache to read and extend, or null
     * @return (B, T, C)
     */
    public Tensor forward(Tensor inputIds, Tensor positionIds, Tensor attentionMask, Tensor sequenceIds, KvCache cache) {
        long b = inputIds.size(0), t = inputIds.size(1);
        long offset = cache == null ? 0 : cache.length();
        // 1. token embeddings
        Tensor h = embedTokens.forward(inputIds);                                              // (B, T, C)
        // 2. positions and RoPE tables (computed in fp32, cast to the compute dtype)
        Tensor pos = positionIds != null ? positionIds
                : org.lorascripts.tensor.Torch.arange(offset, offset + t, 1, DType.I64, h.device()).unsqueeze(0).expand(b, t);
        List<Tensor> cs = rotary.cosSin(pos, h.dtype());                                       // 2 x (B, T, D)
        // 3. attention masks: one for full-attention layers, one for sliding-window layers
        int window = 0;
        for (int lw : cfg.layerWindows()) window = Math.max(window, lw);
        AttentionMask full = AttentionMask.build(t, offset, 0, attentionMask, sequenceIds, h.device());
        AttentionMask windowed = window == 0 ? full : AttentionMask.build(t, offset, window, attentionMask, sequenceIds, h.device());
        Context ctx = new Context(cs.get(0), cs.get(1), full, windowed, cache);
        // 4. decoder layers, each optionally checkpointed (only its input and LoRA weights are kept)
        boolean training = cache == null && Autograd.isGradEnabled();
        boolean checkpoint = gradientCheckpointing && training;
        boolean attentionOnly = attentionRecompute && training && !checkpoint;
        for (DecoderLayer layer : layers) {
            if (checkpoint) {
                h = Checkpoint.applyAware((in, recompute) -> List.of(layer.forward(in.get(0), ctx, recompute, false)), List.of(h),
                        layer.loraParameters(), 1).get(0);
            } else {
                Tensor in = h;
                h = Scope.scoped(() -> layer.forward(in, ctx, false, attentionOnly));  // free the layer's temporaries at once
            }
        }
        // 5. final norm
        return norm.forward(h);                                                                // (B, T, C)
    }

    /**
     * Per-layer gradient checkpointing. 4-bit linear layers then keep their dequantised weight for the
     * layer's own backward instead of checkpointing each product ({@link Linear4bit#setInsideCheckpoint}).
     */
    public void setGradientCheckpointing(boolean on) {
        gradientCheckpointing = on;
        for (DecoderLayer layer : layers) {
            for (LinearLayer l : layer.linears()) if (l instanceof Linear4bit q) q.setInsideCheckpoint(on);
        }
    }

    public boolean gradientCheckpointing() { return gradientCheckpointing; }

    /**
     * Selective recomputation: each layer's attention half (input norm, q/k/v projections, rotary embedding, attention
     * and the output projection's adapter) keeps only the layer's input and runs again in backward, while the MLP keeps
     * its activations. Per layer and token that frees q, k, v and the attention output (2 x hidden + 2 x K/V width in
     * the compute dtype: 1.25 GiB on the Llama-3-8B shape at 2048 tokens) for the q/k/v GEMMs and one attention forward
     * more. No effect under {@link #setGradientCheckpointing} (the whole layer runs again there).
     */
    public void setAttentionRecompute(boolean on) { attentionRecompute = on; }

    public boolean attentionRecompute() { return attentionRecompute; }

    public Embedding embedTokens() { return embedTokens; }

    public int numLayers() { return layers.size(); }

    @Override public void close() { rotary.close(); }

    /** Pre-norm residual block: h + attn(norm(h)), then h + mlp(norm(h)). */
    static final class DecoderLayer {
        final int index;
        final int window;
        final RmsNorm inputLayernorm, postAttentionLayernorm;
        final Attention selfAttn;
        final Mlp mlp;

        DecoderLayer(LlmConfig cfg, Weights w, int index) {
            this.index = index;
            this.window = cfg.layerWindows()[index];
            this.selfAttn = new Attention(cfg, w.pp("self_attn"), index);
            this.mlp = new Mlp(cfg, w.pp("mlp"));
            this.inputLayernorm = new RmsNorm(w.pp("input_layernorm"), cfg.hiddenSize(), cfg.rmsNormEps());
            this.postAttentionLayernorm = new RmsNorm(w.pp("post_attention_layernorm"), cfg.hiddenSize(), cfg.rmsNormEps());
        }

        /**
         * @param recompute the checkpointed layer's run for backward: the output only carries gradients, so the down
         *                  projection's frozen GEMM (a quarter of the layer's forward FLOPs), whose product is only
         *                  added to the residual, is skipped ({@link LinearLayer#gradientPath})
         */
        Tensor forward(Tensor h, Context ctx, boolean recompute, boolean attentionCheckpointed) {
            // 1. self-attention on the normed input (optionally checkpointed alone, see setAttentionRecompute), residual add
            Tensor a = attentionCheckpointed
                    ? Checkpoint.applyAware((in, again) -> List.of(attention(in.get(0), ctx, again)), List.of(h), attentionLoraParameters(), 1).get(0)
                    : attention(h, ctx, false);                                                                  // (B, T, C)
            h = h.add(a);
            // 2. SwiGLU MLP on the normed result, residual add
            return h.add(mlp.forward(postAttentionLayernorm.forward(h), recompute));                             // (B, T, C)
        }

        /** {@code gradientsOnly}: the output's value is not read, only its gradient (a checkpointed attention's recompute). */
        private Tensor attention(Tensor h, Context ctx, boolean gradientsOnly) {
            return selfAttn.forward(inputLayernorm.forward(h), ctx, window == 0 ? ctx.full() : ctx.windowed(), gradientsOnly);
        }

        List<LinearLayer> linears() {
            List<LinearLayer> all = new ArrayList<>(selfAttn.projections());
            all.addAll(List.of(mlp.gateProj, mlp.upProj, mlp.downProj));
            return all;
        }

        /** The trainable LoRA weights attached inside this layer (for gradient checkpointing). */
        List<Tensor> loraParameters() { return loraParameters(linears()); }

        /** Those of the attention's projections (for a checkpointed attention). */
        List<Tensor> attentionLoraParameters() { return loraParameters(selfAttn.projections()); }

        private static List<Tensor> loraParameters(List<LinearLayer> hosts) {
            List<Tensor> ps = new ArrayList<>();
            for (LoraHost host : hosts) {
                if (host.adapter() != null) ps.addAll(host.adapter().parameters());
            }
            return ps;
        }
    }

    /** Multi-head attention with grouped-query K/V heads and RoPE. */
    static final class Attention {
        final LinearLayer qProj, kProj, vProj, oProj;
        final int heads, kvHeads, layer;
        final long headDim;
        final double scaling;

        Attention(LlmConfig cfg, Weights w, int layer) {
            this.heads = cfg.numHeads();
            this.kvHeads = cfg.numKvHeads();
            this.headDim = cfg.headDim();
            this.layer = layer;
            this.scaling = 1.0 / Math.sqrt(headDim);
            long c = cfg.hiddenSize();
            qProj = LinearLayer.load(w.pp("q_proj"), c, heads * headDim, cfg.qkvBias());
            kProj = LinearLayer.load(w.pp("k_proj"), c, kvHeads * headDim, cfg.qkvBias());
            vProj = LinearLayer.load(w.pp("v_proj"), c, kvHeads * headDim, cfg.qkvBias());
            oProj = LinearLayer.load(w.pp("o_proj"), heads * headDim, c, cfg.oProjBias());
        }

        List<LinearLayer> projections() { return List.of(qProj, kProj, vProj, oProj); }

        /** {@code gradientsOnly}: the output's value is not read, only its gradient ({@link LinearLayer#gradientPath}). */
        Tensor forward(Tensor x, Context ctx, AttentionMask mask, boolean gradientsOnly) {
            long b = x.size(0), t = x.size(1);
            // 1. projections, split into heads
            Tensor q = qProj.forward(x).view(b, t, heads, headDim).transpose(1, 2);        // (B, H, T, D)
            Tensor k = kProj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);      // (B, Hkv, T, D)
            Tensor v = vProj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);      // (B, Hkv, T, D)
            // 2. rotary position embedding on q and k
            q = RotaryEmbedding.apply(q, ctx.cos(), ctx.sin());
            k = RotaryEmbedding.apply(k, ctx.cos(), ctx.sin());
            // 3. KV cache: attend over everything cached so far plus this step
            if (ctx.cache() != null) {
                List<Tensor> kv = ctx.cache().append(layer, k, v);
                k = kv.get(0);                                                              // (B, Hkv, Tk, D)
                v = kv.get(1);
            }
            // 4-5. causal (and masked) scaled dot-product attention, grouped-query: on CUDA without a mask (a training
            // batch of unpacked rows) libtorch's GQA kernel reads each K/V head for its group of query heads, so K and V
            // are neither repeated nor saved four times over for backward; else each K/V head is repeated for its group
            // (the CPU's GQA attention repeats them itself, with no memory to gain and other roundings)
            Tensor o;
            if (heads != kvHeads && mask.mask() == null && ctx.cache() == null && q.device().isCuda() && Functional.hasGroupedQueryAttention()) {
                o = Functional.groupedQueryAttention(q, k, v, 0, mask.causal(), scaling);                     // (B, H, T, D)
            } else {
                k = repeatKv(k, heads / kvHeads);                                           // (B, H, Tk, D)
                v = repeatKv(v, heads / kvHeads);
                o = Functional.scaledDotProductAttention(q, k, v, mask.mask(), 0, mask.causal(), scaling);    // (B, H, T, D)
            }
            // 6. merge heads, output projection
            Tensor merged = o.transpose(1, 2).reshape(b, t, heads * headDim);
            return gradientsOnly ? oProj.gradientPath(merged) : oProj.forward(merged);        // (B, T, C)
        }

        /** (B, Hkv, T, D) -> (B, Hkv * n, T, D), each head repeated n times in place (transformers' repeat_kv). */
        static Tensor repeatKv(Tensor x, int n) {
            if (n == 1) return x;
            long[] s = x.shape();
            return x.unsqueeze(2).expand(s[0], s[1], n, s[2], s[3]).reshape(s[0], s[1] * n, s[2], s[3]);
        }
    }

    /** down(silu(gate(x)) * up(x)). */
    static final class Mlp {
        final LinearLayer gateProj, upProj, downProj;

        Mlp(LlmConfig cfg, Weights w) {
            long c = cfg.hiddenSize(), i = cfg.intermediateSize();
            gateProj = LinearLayer.load(w.pp("gate_proj"), c, i, cfg.mlpBias());
            upProj = LinearLayer.load(w.pp("up_proj"), c, i, cfg.mlpBias());
            downProj = LinearLayer.load(w.pp("down_proj"), i, c, cfg.mlpBias());
        }

        /** {@code gradientsOnly}: the output's value is not read, only its gradient ({@link LinearLayer#gradientPath}). */
        Tensor forward(Tensor x, boolean gradientsOnly) {
            Tensor act = FusedOps.swiglu(gateProj.forward(x), upProj.forward(x));
            return gradientsOnly ? downProj.gradientPath(act) : downProj.forward(act);                      // (B, T, C)
        }
    }
}
