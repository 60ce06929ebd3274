package org.lorascripts.models.sd.clip;

import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Tensor;

/**
 * HF's {@code CLIPTextModelWithProjection}: a {@link ClipTextModel} ({@code text_model.*}) and
 * {@code text_projection}, a Linear without bias from the width to the projection width. SDXL's second
 * text encoder (OpenCLIP ViT-bigG/14: 32 layers, width 1280, projection 1280 → 1280) is one; its UNet
 * takes the penultimate hidden state (no final norm) as context and the projected pooled embedding
 * ({@code text_embeds}) as part of its added conditioning. Reference: transformers'
 * {@code modeling_clip.py} (CLIPTextModelWithProjection); sgm's {@code FrozenOpenCLIPEmbedder2}
 * ({@code layer="penultimate"}, {@code always_return_pooled}, {@code legacy=False}).
 *
 * <p>Module names are HF's: the LoRA hosts are the text model's ({@code text_model.encoder.layers.N.self_attn.q_proj}, ...;
 * kohya names them {@code lora_te2_text_model_encoder_layers_N_self_attn_q_proj} for SDXL);
 * {@code text_projection} is not one (kohya's networks do not target it).
 */
public final class ClipTextModelWithProjection {
    /**
     * penultimateHiddenState: {@code hidden_states[-2]} without final norm (B, T, D); textEmbeds: the
     * pooled output (final_layer_norm of the last layer at the EOS position) projected, (B, P);
     * text: the text model's own outputs (last hidden state, unprojected pooled, every hidden state).
     */
    public record Output(Tensor penultimateHiddenState, Tensor textEmbeds, ClipTextModel.Output text) {}

    private final ClipTextModel textModel;
    private final Linear textProjection;
    private final int projectionDim;

    /** {@code w} stands for the model root: {@code text_model.*} and {@code text_projection.weight} (P, D) under it. */
    public ClipTextModelWithProjection(Weights w, ClipTextConfig cfg, int projectionDim) {
        if (cfg.layers() < 2) throw new IllegalArgumentException("an encoder with a penultimate layer needs at least 2 layers, got " + cfg.layers());
        this.textModel = new ClipTextModel(w, cfg);
        this.textProjection = new Linear(w.pp("text_projection"), cfg.hidden(), projectionDim, false);
        this.projectionDim = projectionDim;
    }

    public ClipTextConfig config() { return textModel.config(); }

    public int projectionDim() { return projectionDim; }

    public ClipTextModel textModel() { return textModel; }

    /** The text model's LoRA hosts by HF module name (as {@link ClipTextModel#loraHosts()}); not text_projection. */
    public Map<String, LoraHost> loraHosts() { return textModel.loraHosts(); }

    public void setGradientCheckpointing(boolean on) { textModel.setGradientCheckpointing(on); }

    /** inputIds (B, T) → every layer run once: the penultimate hidden state and the projected pooled output. */
    public Output forward(Tensor inputIds) {
        ClipTextModel.Output out = textModel.forward(inputIds);
        List<Tensor> hidden = out.hiddenStates();                                         // embeddings + L layers
        Tensor penultimate = hidden.get(hidden.size() - 2);                               // (B, T, D)
        Tensor embeds = textProjection.forward(out.pooled());                             // (B, P)
        return new Output(penultimate, embeds, out);
    }
}
