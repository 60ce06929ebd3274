package org.lorascripts.models.sd.unet;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.lorascripts.io.JsonFields;

/**
 * The subset of diffusers' {@code UNet2DConditionModel} config used by SD 1.x / 2.x, with its names.
 *
 * <p>{@code attentionHeadDim} keeps diffusers' naming quirk exactly: the value is the number of
 * attention <em>heads</em> of each block (diffusers passes {@code attention_head_dim} as
 * {@code num_attention_heads}; see the comment in unet_2d_condition.py and diffusers issue 2011). SD 1.x
 * has 8 heads everywhere (head size 40..160); SD 2.x has [5, 10, 20, 20], i.e. head size 64. The
 * up blocks use the list reversed; the mid block the last entry.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_condition.py
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        int sampleSize,
        List<Integer> blockOutChannels,
        int layersPerBlock,
        List<Integer> attentionHeadDim,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int crossAttentionDim,
        int transformerLayersPerBlock,
        boolean useLinearProjection,
        int normNumGroups,
        double normEps,
        boolean upcastAttention,
        Prediction prediction) {

    /** What the UNet is trained to predict (diffusers' scheduler {@code prediction_type}). */
    public enum Prediction {
        EPSILON("epsilon"), V_PREDICTION("v_prediction");
        public final String configName;
        Prediction(String n) { configName = n; }

        public static Prediction parse(String s, String where) {
            for (Prediction p : values()) if (p.configName.equals(s)) return p;
            throw new IllegalArgumentException(where + ": prediction_type '" + s + "' is not supported (use epsilon or v_prediction)");
        }
    }

    public static final String CROSS_DOWN = "CrossAttnDownBlock2D", DOWN = "DownBlock2D";
    public static final String CROSS_UP = "CrossAttnUpBlock2D", UP = "UpBlock2D";

    public UNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        int n = blockOutChannels.size();
        if (n == 0) throw new IllegalArgumentException("block_out_channels must not be empty");
        if (attentionHeadDim.size() != n || downBlockTypes.size() != n || upBlockTypes.size() != n) {
            throw new IllegalArgumentException("block_out_channels, attention_head_dim, down_block_types and up_block_types must have the same length, got "
                    + blockOutChannels + ", " + attentionHeadDim + ", " + downBlockTypes + ", " + upBlockTypes);
        }
        for (int i = 0; i < n; i++) {
            int c = blockOutChannels.get(i);
            if (c % normNumGroups != 0) throw new IllegalArgumentException("block_out_channels[" + i + "] = " + c + " is not divisible by norm_num_groups " + normNumGroups);
            if (c % attentionHeadDim.get(i) != 0) throw new IllegalArgumentException("block_out_channels[" + i + "] = " + c + " is not divisible by the head count " + attentionHeadDim.get(i));
            if (!downBlockTypes.get(i).equals(CROSS_DOWN) && !downBlockTypes.get(i).equals(DOWN)) {
                throw new UnsupportedOperationException("down block type " + downBlockTypes.get(i) + " is not supported yet (use " + CROSS_DOWN + " or " + DOWN + ")");
            }
            if (!upBlockTypes.get(i).equals(CROSS_UP) && !upBlockTypes.get(i).equals(UP)) {
                throw new UnsupportedOperationException("up block type " + upBlockTypes.get(i) + " is not supported yet (use " + CROSS_UP + " or " + UP + ")");
            }
        }
        if (prediction == null) prediction = Prediction.EPSILON;
    }

    /** runwayml/stable-diffusion-v1-5 unet/config.json. */
    public static UNetConfig sd15() {
        return new UNetConfig(4, 4, 64, List.of(320, 640, 1280, 1280), 2, List.of(8, 8, 8, 8),
                List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN), List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP),
                768, 1, false, 32, 1e-5, false, Prediction.EPSILON);
    }

    /** stabilityai/stable-diffusion-2-base (512, epsilon); {@link #sd21v()} for the 768 v-prediction model. */
    public static UNetConfig sd2() {
        return new UNetConfig(4, 4, 64, List.of(320, 640, 1280, 1280), 2, List.of(5, 10, 20, 20),
                List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN), List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP),
                1024, 1, true, 32, 1e-5, false, Prediction.EPSILON);
    }

    /** stabilityai/stable-diffusion-2-1 (768, v-prediction, attention upcast to fp32). */
    public static UNetConfig sd21v() {
        UNetConfig c = sd2();
        return new UNetConfig(c.inChannels, c.outChannels, 96, c.blockOutChannels, c.layersPerBlock, c.attentionHeadDim,
                c.downBlockTypes, c.upBlockTypes, c.crossAttentionDim, 1, true, 32, 1e-5, true, Prediction.V_PREDICTION);
    }

    public UNetConfig withPrediction(Prediction p) {
        return new UNetConfig(inChannels, outChannels, sampleSize, blockOutChannels, layersPerBlock, attentionHeadDim, downBlockTypes,
                upBlockTypes, crossAttentionDim, transformerLayersPerBlock, useLinearProjection, normNumGroups, normEps, upcastAttention, p);
    }

    public UNetConfig withUpcastAttention(boolean upcast) {
        return new UNetConfig(inChannels, outChannels, sampleSize, blockOutChannels, layersPerBlock, attentionHeadDim, downBlockTypes,
                upBlockTypes, crossAttentionDim, transformerLayersPerBlock, useLinearProjection, normNumGroups, normEps, upcast, prediction);
    }

    /** Time embedding width: 4 x the first block's channels. */
    public int timeEmbedDim() { return blockOutChannels.get(0) * 4; }

    /**
     * Reads a diffusers {@code unet/config.json}. Settings this implementation does not have (SDXL's
     * added embeddings, class embeddings, other block or time-embedding types) fail clearly.
     */
    public static UNetConfig fromJson(JsonNode json, String file, Prediction prediction) {
        JsonFields c = JsonFields.of(json, file);
        if (c.has("addition_embed_type")) {
            throw new UnsupportedOperationException(file + ": looks like SDXL (addition_embed_type = " + c.string("addition_embed_type", "")
                    + "); SDXL LoRA training is not supported yet");
        }
        c.requireOneOf("class_embed_type", "class-conditioned UNets");
        c.requireOneOf("num_class_embeds", "class-conditioned UNets");
        c.requireOneOf("encoder_hid_dim", "UNets with an encoder projection");
        c.requireOneOf("num_attention_heads", "diffusers itself rejects num_attention_heads; attention_head_dim holds the head count");
        c.requireOneOf("time_embedding_type", "time embedding", "positional");
        c.requireOneOf("resnet_time_scale_shift", "resnet time conditioning", "default");
        c.requireOneOf("act_fn", "activation", "silu");
        c.requireOneOf("mid_block_type", "mid block", "UNetMidBlock2DCrossAttn");
        c.requireOneOf("only_cross_attention", "self-attention is required", false);
        c.requireOneOf("dual_cross_attention", "dual cross attention", false);
        c.requireOneOf("center_input_sample", "input centering", false);
        c.requireOneOf("flip_sin_to_cos", "timestep embedding order", true);
        c.requireOneOf("freq_shift", "timestep frequency shift", 0);
        c.requireOneOf("conv_in_kernel", "conv_in kernel", 3);
        c.requireOneOf("conv_out_kernel", "conv_out kernel", 3);
        c.requireOneOf("mid_block_scale_factor", "mid block scale", 1, 1.0);
        c.requireOneOf("downsample_padding", "downsample padding", 1);
        c.requireOneOf("attention_type", "attention type", "default");
        c.requireOneOf("time_embedding_act_fn", "an activation after the time embedding");
        c.requireOneOf("time_embedding_dim", "a custom time embedding width");
        c.requireOneOf("time_cond_proj_dim", "timestep conditioning (LCM)");
        c.requireOneOf("timestep_post_act", "an activation after the time MLP");
        c.requireOneOf("cross_attention_norm", "cross-attention norm");
        c.requireOneOf("class_embeddings_concat", "class embeddings", false);
        c.requireOneOf("resnet_skip_time_act", "resnet time activation", false);
        c.requireOneOf("resnet_out_scale_factor", "resnet output scale", 1, 1.0);
        c.requireOneOf("reverse_transformer_layers_per_block", "per-block transformer depth");
        List<Integer> channels = c.integers("block_out_channels", 0, List.of(320, 640, 1280, 1280));
        int n = channels.size();
        List<Integer> tl = c.integers("transformer_layers_per_block", n, List.of(1));
        for (int t : tl) if (t != tl.get(0)) throw new UnsupportedOperationException(file + ": transformer_layers_per_block " + tl + " varies by block; not supported yet");
        List<Integer> lpb = c.integers("layers_per_block", n, List.of(2));
        for (int t : lpb) if (t != lpb.get(0)) throw new UnsupportedOperationException(file + ": layers_per_block " + lpb + " varies by block; not supported yet");
        List<Integer> cad = c.integers("cross_attention_dim", n, List.of(1280));
        for (int t : cad) if (t != cad.get(0)) throw new UnsupportedOperationException(file + ": cross_attention_dim " + cad + " varies by block; not supported yet");
        return new UNetConfig(
                c.integer("in_channels", 4), c.integer("out_channels", 4), c.integer("sample_size", 64), channels, lpb.get(0),
                c.integers("attention_head_dim", n, List.of(8, 8, 8, 8)),
                c.strings("down_block_types", List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN)),
                c.strings("up_block_types", List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP)),
                cad.get(0), tl.get(0), c.bool("use_linear_projection", false), c.integer("norm_num_groups", 32),
                c.number("norm_eps", 1e-5), c.bool("upcast_attention", false), prediction);
    }

    /** This config as diffusers writes it ({@code save_pretrained}), for diffusers-layout folders. */
    public String toDiffusersJson() {
        return "{\n  \"_class_name\": \"UNet2DConditionModel\",\n  \"act_fn\": \"silu\",\n  \"attention_head_dim\": " + ints(attentionHeadDim)
                + ",\n  \"block_out_channels\": " + ints(blockOutChannels) + ",\n  \"center_input_sample\": false,\n  \"cross_attention_dim\": " + crossAttentionDim
                + ",\n  \"down_block_types\": " + strs(downBlockTypes) + ",\n  \"downsample_padding\": 1,\n  \"flip_sin_to_cos\": true,\n  \"freq_shift\": 0"
                + ",\n  \"in_channels\": " + inChannels + ",\n  \"layers_per_block\": " + layersPerBlock + ",\n  \"mid_block_scale_factor\": 1"
                + ",\n  \"norm_eps\": " + normEps + ",\n  \"norm_num_groups\": " + normNumGroups + ",\n  \"out_channels\": " + outChannels
                + ",\n  \"sample_size\": " + sampleSize + ",\n  \"transformer_layers_per_block\": " + transformerLayersPerBlock
                + ",\n  \"up_block_types\": " + strs(upBlockTypes) + ",\n  \"upcast_attention\": " + upcastAttention
                + ",\n  \"use_linear_projection\": " + useLinearProjection + "\n}\n";
    }

    static String ints(List<Integer> xs) { return xs.toString(); }

    public static String strs(List<String> xs) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < xs.size(); i++) b.append(i == 0 ? "\"" : ", \"").append(xs.get(i)).append('"');
        return b.append(']').toString();
    }
}
