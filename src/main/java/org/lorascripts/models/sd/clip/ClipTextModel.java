package org.lorascripts.models.sd.clip;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.Embedding;
import org.lorascripts.nn.LayerNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The CLIP text encoder of Stable Diffusion (HF {@code CLIPTextModel}), with HF's module names
 * ({@code text_model.encoder.layers.N.self_attn.q_proj}, ...), which are also the names kohya's
 * {@code lora_te_*} keys are made from. Reference:
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/clip/modeling_clip.py
 * (CLIPTextEmbeddings, CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPTextTransformer).
 *
 * <p>Shapes: B batch, T tokens (at most 77), D hidden, H heads, Dh = D / H, F intermediate.
 */
public final class ClipTextModel {
    /**
     * lastHiddenState: final_layer_norm of the selected layer (B, T, D); pooled: its row at the EOS
     * position (B, D); hiddenStates: the embeddings and each layer's output that was computed, before
     * the final norm, as HF's {@code hidden_states} (1 + layers entries when clip_skip is 1).
     */
    public record Output(Tensor lastHiddenState, Tensor pooled, List<Tensor> hiddenStates) {}

    private final ClipTextConfig cfg;
    private final Embedding tokenEmbedding;     // (V, D)
    private final Embedding positionEmbedding;  // (77, D)
    private final List<EncoderLayer> layers = new ArrayList<>();
    private final LayerNorm finalLayerNorm;
    private final Map<String, LoraHost> hosts = new LinkedHashMap<>();
    private boolean gradientCheckpointing;

    /** {@code w} stands for the model root: tensors are read as {@code text_model.*} under it. */
    public ClipTextModel(Weights w, ClipTextConfig cfg) {
        this.cfg = cfg;
        Weights tm = w.pp("text_model");
        tokenEmbedding = new Embedding(tm.pp("embeddings").pp("token_embedding"), cfg.vocabSize(), cfg.hidden());
        positionEmbedding = new Embedding(tm.pp("embeddings").pp("position_embedding"), cfg.maxPositions(), cfg.hidden());
        for (int i = 0; i < cfg.layers(); i++) {
            String name = "text_model.encoder.layers." + i;
            layers.add(new EncoderLayer(tm.pp("encoder").pp("layers").pp(i), name, cfg, hosts));
        }
        finalLayerNorm = new LayerNorm(tm.pp("final_layer_norm"), cfg.hidden(), cfg.eps());
    }

    public ClipTextConfig config() { return cfg; }

    /**
     * The modules kohya's LoRA targets in a text encoder (every Linear inside CLIPAttention and CLIPMLP:
     * q/k/v/out_proj, fc1, fc2), by module name relative to the model root.
     */
    public Map<String, LoraHost> loraHosts() { return Collections.unmodifiableMap(hosts); }

    /** Recompute each encoder layer in backward instead of keeping its activations. */
    public void setGradientCheckpointing(boolean on) { gradientCheckpointing = on; }

    public Output forward(Tensor inputIds) { return forward(inputIds, 1); }

    /**
     * inputIds (B, T) → outputs. clipSkip k uses hidden_states[-k] (1 = last layer) and applies
     * final_layer_norm to it, as kohya and A1111 do; the layers above it are not run.
     */
    public Output forward(Tensor inputIds, int clipSkip) {
        if (clipSkip < 1 || clipSkip > cfg.layers()) {
            throw new IllegalArgumentException("clip_skip must be in [1, " + cfg.layers() + "], got " + clipSkip);
        }
        Tensor ids = inputIds(inputIds);
        List<Tensor> hidden = runLayers(ids, cfg.layers() - (clipSkip - 1));

        // 3. final layer norm of the selected layer
        Tensor last = finalLayerNorm.forward(hidden.getLast());                          // (B, T, D)

        // 4. pooled: the row at the end-of-text token
        return new Output(last, pool(last, ids), List.copyOf(hidden));
    }

    /**
     * HF's {@code hidden_states[-fromLast]} WITHOUT final_layer_norm, (B, T, D): 1 is the last layer's
     * output, 2 the penultimate one, {@code layers + 1} the embeddings. The layers above it are not run.
     */
    public Tensor hiddenState(Tensor inputIds, int fromLast) {
        if (fromLast < 1 || fromLast > cfg.layers() + 1) {
            throw new IllegalArgumentException("hidden state -" + fromLast + " does not exist: the encoder has " + cfg.layers()
                    + " layers (hidden states -1 .. -" + (cfg.layers() + 1) + ")");
        }
        return runLayers(inputIds(inputIds), cfg.layers() + 1 - fromLast).getLast();
    }

    /**
     * {@code hidden_states[-2]} without final_layer_norm, (B, T, D): what SDXL's UNet is conditioned on
     * (both encoders; sgm's {@code FrozenCLIPEmbedder(layer="hidden", layer_idx=-2)} and diffusers'
     * {@code prompt_embeds.hidden_states[-2]}). The last layer is not run.
     */
    public Tensor penultimateHiddenState(Tensor inputIds) { return hiddenState(inputIds, 2); }

    /** (B, T) ids as I64 on the weights' device, checked against the position table. */
    private Tensor inputIds(Tensor inputIds) {
        long t = inputIds.size(-1);
        if (t > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + t + " tokens is longer than max_position_embeddings " + cfg.maxPositions()
                    + "; split long prompts into chunks (encodeChunks)");
        }
        Tensor ids = inputIds.dtype() == DType.I64 && inputIds.device().equals(tokenEmbedding.weight().device())
                ? inputIds : inputIds.to(DType.I64, tokenEmbedding.weight().device());
        return ids.reshape(-1, t);                                                       // (B, T)
    }

    /** The embeddings and the outputs of the first {@code run} layers: HF's hidden_states[0 .. run]. */
    private List<Tensor> runLayers(Tensor ids, int run) {
        long t = ids.size(-1);
        // 1. embeddings: token + absolute position
        Tensor pos = positionEmbedding.weight().narrow(0, 0, t);                         // (T, D)
        Tensor h = tokenEmbedding.forward(ids).add(pos);                                  // (B, T, D)

        // 2. encoder layers (causal self-attention + MLP, pre-norm), keeping each output
        List<Tensor> hidden = new ArrayList<>(run + 1);
        hidden.add(h);
        for (int i = 0; i < run; i++) {
            EncoderLayer layer = layers.get(i);
            Tensor layerIn = h;
            h = gradientCheckpointing
                    ? Checkpoint.apply(in -> List.of(layer.forward(in.get(0))), List.of(h), layer.adapterParameters(), 1).get(0)
                    : Scope.scoped(() -> layer.forward(layerIn));                         // (B, T, D)
            hidden.add(h);
        }
        return hidden;
    }

    /**
     * HF's rule: with the legacy eos_token_id 2, the position of the largest id (the real EOS 49407 is
     * the largest in the vocabulary); otherwise the first position holding eos_token_id.
     */
    private Tensor pool(Tensor last, Tensor ids) {
        Tensor idx = cfg.eosTokenId() == ClipTextConfig.LEGACY_EOS_ID
                ? ids.argmax(-1, false)
                : ids.eq(cfg.eosTokenId()).to(DType.I32).argmax(-1, false);              // (B)
        long b = last.size(0), d = last.size(2);
        Tensor gatherIdx = idx.view(b, 1, 1).expand(b, 1, d);                            // (B, 1, D)
        return last.gather(1, gatherIdx).squeeze(1);                                     // (B, D)
    }

    /**
     * Prompts longer than 75 tokens, as kohya's {@code train_util.get_hidden_states} with
     * max_token_length: ids (B, n*77) or (B, n, 77), each chunk {@code <BOS> 75 tokens <EOS|PAD>};
     * every chunk is encoded on its own, then the BOS state of the first chunk, the 75 middle states of
     * every chunk and the last state of the last chunk are concatenated: (B, 2 + 75 n, D). With n = 1
     * this is the plain (B, 77, D). (kohya's SD 2 branch also means to patch empty chunks, but its test
     * compares a tensor with a string and never fires, so both versions share this rule.)
     */
    public Tensor encodeChunks(Tensor ids, int clipSkip) {
        long len = cfg.maxPositions();
        long b = ids.size(0);
        long total = ids.numel() / b;
        if (total % len != 0) throw new IllegalArgumentException("chunked ids must hold a multiple of " + len + " tokens per row, got " + total);
        long n = total / len;
        return joinChunks(forward(ids.reshape(b * n, len), clipSkip).lastHiddenState(), b);
    }

    /**
     * The states of every chunk (B n, 77, D), chunks of a row next to each other, joined as
     * {@link #encodeChunks(Tensor, int)} joins them: (B, 2 + 75 n, D), or (B, 77, D) for one chunk.
     * Public for SDXL, whose encoders are joined the same way from their penultimate states (kohya's
     * {@code get_hidden_states_sdxl}).
     */
    public static Tensor joinChunks(Tensor states, long b) {
        long len = states.size(1), d = states.size(-1);
        long n = states.size(0) / b;
        states = states.reshape(b, n * len, d);                                           // (B, n 77, D)
        if (n == 1) return states;
        List<Tensor> parts = new ArrayList<>();
        parts.add(states.narrow(1, 0, 1));                                                // <BOS> (B, 1, D)
        for (long k = 0; k < n; k++) parts.add(states.narrow(1, k * len + 1, len - 2));   // (B, 75, D)
        parts.add(states.narrow(1, n * len - 1, 1));                                      // <EOS> or <PAD>
        return Torch.cat(parts, 1);                                                       // (B, 2 + 75 n, D)
    }

    /** One prompt already split into chunks of 77 ids: (1, 2 + 75 n, D). */
    public Tensor encodeChunks(int[][] chunks, int clipSkip) {
        int len = cfg.maxPositions();
        long[] flat = new long[chunks.length * len];
        for (int c = 0; c < chunks.length; c++) {
            if (chunks[c].length != len) throw new IllegalArgumentException("chunk " + c + " has " + chunks[c].length + " ids, expected " + len);
            for (int i = 0; i < len; i++) flat[c * len + i] = chunks[c][i];
        }
        return encodeChunks(Torch.of(flat, 1, flat.length), clipSkip);
    }

    /** CLIPEncoderLayer: x + attn(ln1(x)), then x + mlp(ln2(x)). */
    private static final class EncoderLayer {
        private final LayerNorm layerNorm1, layerNorm2;
        private final Linear qProj, kProj, vProj, outProj, fc1, fc2;
        private final int heads;
        private final ClipTextConfig.Activation activation;

        EncoderLayer(Weights w, String name, ClipTextConfig cfg, Map<String, LoraHost> hosts) {
            long d = cfg.hidden();
            heads = cfg.heads();
            activation = cfg.activation();
            layerNorm1 = new LayerNorm(w.pp("layer_norm1"), d, cfg.eps());
            Weights attn = w.pp("self_attn");
            qProj = linear(attn, "q_proj", d, d, name + ".self_attn", hosts);
            kProj = linear(attn, "k_proj", d, d, name + ".self_attn", hosts);
            vProj = linear(attn, "v_proj", d, d, name + ".self_attn", hosts);
            outProj = linear(attn, "out_proj", d, d, name + ".self_attn", hosts);
            layerNorm2 = new LayerNorm(w.pp("layer_norm2"), d, cfg.eps());
            Weights mlp = w.pp("mlp");
            fc1 = linear(mlp, "fc1", d, cfg.intermediate(), name + ".mlp", hosts);
            fc2 = linear(mlp, "fc2", cfg.intermediate(), d, name + ".mlp", hosts);
        }

        private static Linear linear(Weights parent, String leaf, long in, long out, String parentName, Map<String, LoraHost> hosts) {
            Linear l = new Linear(parent.pp(leaf), in, out, true);
            hosts.put(parentName + "." + leaf, l);
            return l;
        }

        Tensor forward(Tensor x) {                                                        // (B, T, D)
            long b = x.size(0), t = x.size(1), d = x.size(2), dh = d / heads;
            // 1. self-attention on the normed input, causal
            Tensor h = layerNorm1.forward(x);
            Tensor q = qProj.forward(h).view(b, t, heads, dh).transpose(1, 2);           // (B, H, T, Dh)
            Tensor k = kProj.forward(h).view(b, t, heads, dh).transpose(1, 2);
            Tensor v = vProj.forward(h).view(b, t, heads, dh).transpose(1, 2);
            Tensor a = Functional.scaledDotProductAttention(q, k, v, null, 0, true, 0);  // (B, H, T, Dh), scale Dh^-0.5
            a = a.transpose(1, 2).reshape(b, t, d);                                       // (B, T, D)
            x = x.add(outProj.forward(a));
            // 2. MLP on the normed result
            Tensor m = fc1.forward(layerNorm2.forward(x));                                // (B, T, F)
            m = activation == ClipTextConfig.Activation.QUICK_GELU ? m.mul(m.mul(1.702).sigmoid()) : m.gelu();
            return x.add(fc2.forward(m));                                                 // (B, T, D)
        }

        /** Trainable tensors of the adapters attached here, so checkpointed segments pass their gradients on. */
        List<Tensor> adapterParameters() {
            List<Tensor> ps = new ArrayList<>();
            for (Linear l : List.of(qProj, kProj, vProj, outProj, fc1, fc2)) {
                Adapter a = l.adapter();
                if (a != null) ps.addAll(a.parameters());
            }
            return ps;
        }
    }
}
