package org.lorascripts.models.sd.unet;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.List;
import org.lorascripts.io.JsonFields;

/**
 * The subset of diffusers' {@code UNet2DConditionModel} config used by SD 1.x / 2.x and SDXL, with its names.
 *
 * <p>{@code attentionHeadDim} keeps diffusers' naming quirk exactly: the value is the number of
 * attention <em>heads</em> of each block (diffusers passes {@code attention_head_dim} as
 * {@code num_attention_heads}; see the comment in unet_2d_condition.py and diffusers issue 2011). SD 1.x
 * has 8 heads everywhere (head size 40..160); SD 2.x has [5, 10, 20, 20] and SDXL [5, 10, 20], i.e.
 * head size 64. The up blocks use the list reversed; the mid block the last entry.
 *
 * <p>{@code transformerLayersPerBlock} is the transformer depth of each level (one entry per block,
 * diffusers' int expanded): 1 everywhere in SD 1.x / 2.x, [1, 2, 10] in SDXL. As in diffusers, the up
 * blocks use it reversed and the mid block the last entry; a level without attention ignores its entry.
 *
 * <p>{@code textTime} is SDXL's added condition ({@code addition_embed_type: "text_time"}), null when
 * the config has none.
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
        List<Integer> transformerLayersPerBlock,
        boolean useLinearProjection,
        int normNumGroups,
        double normEps,
        boolean upcastAttention,
        Prediction prediction,
        TextTime textTime) {

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

    /**
     * SDXL's added condition, diffusers' {@code addition_embed_type: "text_time"}: each time id (original
     * size, crop corner, target size) gets a sinusoidal embedding of {@code timeEmbedDim} channels
     * ({@code addition_time_embed_dim}), the pooled text embedding is put in front of them, and an MLP
     * from {@code inputDim} ({@code projection_class_embeddings_input_dim}) to the time-embedding width
     * adds the result to the time embedding. SDXL base: 256 and 2816 = 1280 + 6 x 256.
     */
    public record TextTime(int timeEmbedDim, int inputDim) {
        public static final String TYPE = "text_time";

        public TextTime {
            if (timeEmbedDim <= 0 || timeEmbedDim % 2 != 0) throw new IllegalArgumentException("addition_time_embed_dim must be even and positive, got " + timeEmbedDim);
            if (inputDim <= timeEmbedDim) throw new IllegalArgumentException("projection_class_embeddings_input_dim " + inputDim
                    + " leaves no room for the pooled text embedding next to time ids of " + timeEmbedDim + " channels");
        }
    }

    public static final String CROSS_DOWN = "CrossAttnDownBlock2D", DOWN = "DownBlock2D";
    public static final String CROSS_UP = "CrossAttnUpBlock2D", UP = "UpBlock2D";

    /** The SD 1.x / 2.x form: one transformer depth for every level, no added condition. */
    public UNetConfig(int inChannels, int outChannels, int sampleSize, List<Integer> blockOutChannels, int layersPerBlock,
                      List<Integer> attentionHeadDim, List<String> downBlockTypes, List<String> upBlockTypes, int crossAttentionDim,
                      int transformerLayersPerBlock, boolean useLinearProjection, int normNumGroups, double normEps,
                      boolean upcastAttention, Prediction prediction) {
        this(inChannels, outChannels, sampleSize, blockOutChannels, layersPerBlock, attentionHeadDim, downBlockTypes, upBlockTypes,
                crossAttentionDim, Collections.nCopies(blockOutChannels.size(), transformerLayersPerBlock), useLinearProjection,
                normNumGroups, normEps, upcastAttention, prediction, null);
    }

    public UNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        int n = blockOutChannels.size();
        if (n == 0) throw new IllegalArgumentException("block_out_channels must not be empty");
        if (attentionHeadDim.size() != n || downBlockTypes.size() != n || upBlockTypes.size() != n || transformerLayersPerBlock.size() != n) {
            throw new IllegalArgumentException("block_out_channels, attention_head_dim, down_block_types, up_block_types and transformer_layers_per_block"
                    + " must have the same length, got " + blockOutChannels + ", " + attentionHeadDim + ", " + downBlockTypes + ", " + upBlockTypes
                    + ", " + transformerLayersPerBlock);
        }
        for (int i = 0; i < n; i++) {
            int c = blockOutChannels.get(i);
            if (c % normNumGroups != 0) throw new IllegalArgumentException("block_out_channels[" + i + "] = " + c + " is not divisible by norm_num_groups " + normNumGroups);
            if (c % attentionHeadDim.get(i) != 0) throw new IllegalArgumentException("block_out_channels[" + i + "] = " + c + " is not divisible by the head count " + attentionHeadDim.get(i));
            if (transformerLayersPerBlock.get(i) < 1) throw new IllegalArgumentException("transformer_layers_per_block[" + i + "] = " + transformerLayersPerBlock.get(i) + " must be at least 1");
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

    /** stabilityai/stable-diffusion-xl-base-1.0 unet/config.json. */
    public static UNetConfig sdxl() {
        return new UNetConfig(4, 4, 128, List.of(320, 640, 1280), 2, List.of(5, 10, 20),
                List.of(DOWN, CROSS_DOWN, CROSS_DOWN), List.of(CROSS_UP, CROSS_UP, UP),
                2048, List.of(1, 2, 10), true, 32, 1e-5, false, Prediction.EPSILON, new TextTime(256, 2816));
    }

    public UNetConfig withPrediction(Prediction p) {
        return new UNetConfig(inChannels, outChannels, sampleSize, blockOutChannels, layersPerBlock, attentionHeadDim, downBlockTypes,
                upBlockTypes, crossAttentionDim, transformerLayersPerBlock, useLinearProjection, normNumGroups, normEps, upcastAttention, p, textTime);
    }

    public UNetConfig withUpcastAttention(boolean upcast) {
        return new UNetConfig(inChannels, outChannels, sampleSize, blockOutChannels, layersPerBlock, attentionHeadDim, downBlockTypes,
                upBlockTypes, crossAttentionDim, transformerLayersPerBlock, useLinearProjection, normNumGroups, normEps, upcast, prediction, textTime);
    }

    /** Time embedding width: 4 x the first block's channels. */
    public int timeEmbedDim() { return blockOutChannels.get(0) * 4; }

    /** Transformer blocks per {@code Transformer2DModel} at down level {@code level} (up block {@code n-1-level}). */
    public int transformerDepth(int level) { return transformerLayersPerBlock.get(level); }

    /** Transformer blocks of the mid block's {@code Transformer2DModel}: the last level's, as diffusers has it. */
    public int midTransformerDepth() { return transformerLayersPerBlock.getLast(); }

    /** Whether the UNet takes SDXL's added condition (pooled text embedding and time ids). */
    public boolean hasTextTime() { return textTime != null; }

    /**
     * Reads a diffusers {@code unet/config.json}. Settings this implementation does not have (class
     * embeddings, added embeddings other than SDXL's text_time, other block or time-embedding types)
     * fail clearly.
     */
    public static UNetConfig fromJson(JsonNode json, String file, Prediction prediction) {
        JsonFields c = JsonFields.of(json, file);
        c.requireOneOf("class_embed_type", "class-conditioned UNets");
        c.requireOneOf("num_class_embeds", "class-conditioned UNets");
        c.requireOneOf("encoder_hid_dim", "UNets with an encoder projection");
        c.requireOneOf("encoder_hid_dim_type", "UNets with an encoder projection");
        c.requireOneOf("num_attention_heads", "diffusers itself rejects num_attention_heads; attention_head_dim holds the head count");
        c.requireOneOf("time_embedding_type", "time embedding", "positional");
        c.requireOneOf("resnet_time_scale_shift", "resnet time conditioning", "default");
        c.requireOneOf("act_fn", "activation", "silu");
        c.requireOneOf("mid_block_type", "mid block", "UNetMidBlock2DCrossAttn");
        c.requireOneOf("only_cross_attention", "self-attention is required", false);
        c.requireOneOf("mid_block_only_cross_attention", "self-attention is required", false);
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
        c.requireOneOf("reverse_transformer_layers_per_block", "separate transformer depths for the up blocks");
        List<Integer> channels = c.integers("block_out_channels", 0, List.of(320, 640, 1280, 1280));
        int n = channels.size();
        List<Integer> tl = c.has("transformer_layers_per_block") ? c.integers("transformer_layers_per_block", n, null) : Collections.nCopies(n, 1);
        if (tl.size() != n) {
            throw new IllegalArgumentException(file + ": transformer_layers_per_block " + tl + " needs one entry per block of block_out_channels " + channels);
        }
        List<Integer> lpb = c.integers("layers_per_block", n, List.of(2));
        for (int t : lpb) if (t != lpb.get(0)) throw new UnsupportedOperationException(file + ": layers_per_block " + lpb + " varies by block; not supported yet");
        List<Integer> cad = c.integers("cross_attention_dim", n, List.of(1280));
        for (int t : cad) if (t != cad.get(0)) throw new UnsupportedOperationException(file + ": cross_attention_dim " + cad + " varies by block; not supported yet");
        return new UNetConfig(
                c.integer("in_channels", 4), c.integer("out_channels", 4), c.integer("sample_size", 64), channels, lpb.get(0),
                c.integers("attention_head_dim", n, List.of(8, 8, 8, 8)),
                c.strings("down_block_types", List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN)),
                c.strings("up_block_types", List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP)),
                cad.get(0), tl, c.bool("use_linear_projection", false), c.integer("norm_num_groups", 32),
                c.number("norm_eps", 1e-5), c.bool("upcast_attention", false), prediction, textTime(c, file));
    }

    /** {@code addition_embed_type}: absent (SD 1.x / 2.x) or SDXL's text_time with its two widths; other types by name. */
    private static TextTime textTime(JsonFields c, String file) {
        String type = c.string("addition_embed_type", null);
        if (type == null) return null;
        if (!type.equals(TextTime.TYPE)) {
            throw new UnsupportedOperationException(file + ": addition_embed_type = " + type + " is not supported (only SDXL's " + TextTime.TYPE + ")");
        }
        for (String key : List.of("addition_time_embed_dim", "projection_class_embeddings_input_dim")) {
            if (!c.has(key)) throw new IllegalArgumentException(file + ": addition_embed_type " + TextTime.TYPE + " needs " + key);
        }
        try {
            return new TextTime(c.integer("addition_time_embed_dim"), c.integer("projection_class_embeddings_input_dim"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** This config as diffusers writes it ({@code save_pretrained}), for diffusers-layout folders. */
    public String toDiffusersJson() {
        StringBuilder b = new StringBuilder("{\n  \"_class_name\": \"UNet2DConditionModel\",\n  \"act_fn\": \"silu\",\n");
        if (textTime != null) {
            b.append("  \"addition_embed_type\": \"").append(TextTime.TYPE).append("\",\n  \"addition_time_embed_dim\": ").append(textTime.timeEmbedDim()).append(",\n");
        }
        b.append("  \"attention_head_dim\": ").append(ints(attentionHeadDim))
                .append(",\n  \"block_out_channels\": ").append(ints(blockOutChannels)).append(",\n  \"center_input_sample\": false,\n  \"cross_attention_dim\": ").append(crossAttentionDim)
                .append(",\n  \"down_block_types\": ").append(strs(downBlockTypes)).append(",\n  \"downsample_padding\": 1,\n  \"flip_sin_to_cos\": true,\n  \"freq_shift\": 0")
                .append(",\n  \"in_channels\": ").append(inChannels).append(",\n  \"layers_per_block\": ").append(layersPerBlock).append(",\n  \"mid_block_scale_factor\": 1")
                .append(",\n  \"norm_eps\": ").append(normEps).append(",\n  \"norm_num_groups\": ").append(normNumGroups).append(",\n  \"out_channels\": ").append(outChannels);
        if (textTime != null) b.append(",\n  \"projection_class_embeddings_input_dim\": ").append(textTime.inputDim());
        boolean uniform = transformerLayersPerBlock.stream().allMatch(t -> t.equals(transformerLayersPerBlock.getFirst()));
        b.append(",\n  \"sample_size\": ").append(sampleSize)
                .append(",\n  \"transformer_layers_per_block\": ").append(uniform ? transformerLayersPerBlock.getFirst().toString() : ints(transformerLayersPerBlock))
                .append(",\n  \"up_block_types\": ").append(strs(upBlockTypes)).append(",\n  \"upcast_attention\": ").append(upcastAttention)
                .append(",\n  \"use_linear_projection\": ").append(useLinearProjection).append("\n}\n");
        return b.toString();
    }

    static String ints(List<Integer> xs) { return xs.toString(); }

    public static String strs(List<String> xs) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < xs.size(); i++) b.append(i == 0 ? "\"" : ", \"").append(xs.get(i)).append('"');
        return b.append(']').toString();
    }
}
