package org.lorascripts.models.sd.load;

import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * The UNet's names both ways between diffusers and the original LDM / SGM layout of single-file
 * checkpoints ({@code model.diffusion_model.*}, prefix not included here), for SD 1.x, 2.x and SDXL:
 * the inverse of diffusers' {@code convert_ldm_unet_checkpoint} and that function itself. Works on
 * module names ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q} ↔
 * {@code input_blocks.4.1.transformer_blocks.0.attn1.to_q}) and on parameter names (the same plus
 * {@code .weight} / {@code .bias}); null means the name has no counterpart in this config.
 *
 * <p>The LDM numbering follows the config: {@code input_blocks.0} is conv_in, then per level
 * {@code layers_per_block} (resnet [, transformer]) pairs and a downsampler (except the last level);
 * {@code middle_block.0/1/2} = resnet, transformer, resnet; {@code output_blocks} per up level
 * {@code layers_per_block + 1} (resnet [, transformer]) entries, the last with the upsampler at index 2
 * (1 in a level without attention). SDXL (layers 2, levels [no attention, 2, 10 transformer blocks]):
 * {@code input_blocks.3.0.op} and {@code input_blocks.6.0.op} downsample, {@code input_blocks.4.1}
 * is the first transformer of level 1, {@code output_blocks.2.2.conv} and {@code output_blocks.5.2.conv}
 * upsample, {@code label_emb.0.0} / {@code label_emb.0.2} are add_embedding's linear_1 / linear_2.
 * WebUI's kohya LoRA names use this numbering ({@code lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q}).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/loaders/single_file_utils.py
 * ({@code convert_ldm_unet_checkpoint}); LDM layout: Stability-AI/generative-models, sgm/modules/diffusionmodules/openaimodel.py.
 */
public final class LdmUnetNames {
    private final UNetConfig config;
    private final int n, layers, per;

    public LdmUnetNames(UNetConfig config) {
        this.config = config;
        this.n = config.blockOutChannels().size();
        this.layers = config.layersPerBlock();
        this.per = layers + 1;
    }

    /** A diffusers module or parameter name → the LDM one (without {@link LdmNames#UNET_PREFIX}), or null. */
    public String toLdm(String name) {
        String[] p = name.split("\\.", 5);
        switch (p[0]) {
            case "time_embedding":
                return p.length < 2 ? null : linear(p[1], "time_embed.0", "time_embed.2", tail(p, 2));
            case "add_embedding":
                if (!config.hasTextTime() || p.length < 2) return null;
                return linear(p[1], "label_emb.0.0", "label_emb.0.2", tail(p, 2));
            case "conv_in": return "input_blocks.0.0" + tail(p, 1);
            case "conv_norm_out": return "out.0" + tail(p, 1);
            case "conv_out": return "out.2" + tail(p, 1);
            case "down_blocks": {
                if (p.length < 4) return null;
                int b = index(p[1], n), j = index(p[3], per);
                if (b < 0 || j < 0) return null;
                String rest = tail(p, 4);
                return switch (p[2]) {
                    case "resnets" -> j < layers ? resnetToLdm("input_blocks." + (1 + b * per + j) + ".0", rest) : null;
                    case "attentions" -> j < layers && crossDown(b) ? "input_blocks." + (1 + b * per + j) + ".1" + rest : null;
                    case "downsamplers" -> j == 0 && b < n - 1 ? downsamplerToLdm("input_blocks." + (1 + b * per + layers) + ".0", rest) : null;
                    default -> null;
                };
            }
            case "mid_block": {
                if (p.length < 3) return null;
                String rest = name.substring(p[0].length() + p[1].length() + p[2].length() + 2);
                int j = index(p[2], 2);
                if (j < 0) return null;
                if (p[1].equals("resnets")) return resnetToLdm("middle_block." + (2 * j), rest);
                if (p[1].equals("attentions") && j == 0) return "middle_block.1" + rest;
                return null;
            }
            case "up_blocks": {
                if (p.length < 4) return null;
                int b = index(p[1], n), j = index(p[3], per);
                if (b < 0 || j < 0) return null;
                String rest = tail(p, 4);
                return switch (p[2]) {
                    case "resnets" -> resnetToLdm("output_blocks." + (b * per + j) + ".0", rest);
                    case "attentions" -> crossUp(b) ? "output_blocks." + (b * per + j) + ".1" + rest : null;
                    case "upsamplers" -> j == 0 && b < n - 1 ? "output_blocks." + (b * per + layers) + "." + (crossUp(b) ? 2 : 1) + rest : null;
                    default -> null;
                };
            }
            default: return null;
        }
    }

    /** An LDM module or parameter name (without {@link LdmNames#UNET_PREFIX}) → the diffusers one, or null. */
    public String toDiffusers(String name) {
        String[] p = name.split("\\.", 4);
        switch (p[0]) {
            case "time_embed":
                return p.length < 2 ? null : p[1].equals("0") ? "time_embedding.linear_1" + tail(p, 2)
                        : p[1].equals("2") ? "time_embedding.linear_2" + tail(p, 2) : null;
            case "label_emb":
                if (!config.hasTextTime() || p.length < 3 || !p[1].equals("0")) return null;
                return p[2].equals("0") ? "add_embedding.linear_1" + tail(p, 3) : p[2].equals("2") ? "add_embedding.linear_2" + tail(p, 3) : null;
            case "out":
                return p.length < 2 ? null : p[1].equals("0") ? "conv_norm_out" + tail(p, 2) : p[1].equals("2") ? "conv_out" + tail(p, 2) : null;
            case "input_blocks": {
                if (p.length < 3) return null;
                int k = index(p[1], 1 + n * per), part = index(p[2], 2);
                if (k < 0 || part < 0) return null;
                String rest = tail(p, 3);
                if (k == 0) return part == 0 ? "conv_in" + rest : null;
                int b = (k - 1) / per, j = (k - 1) % per;
                String block = "down_blocks." + b;
                if (j == layers) return part == 0 && b < n - 1 ? downsamplerToDiffusers(block + ".downsamplers.0", rest) : null;
                if (part == 0) return resnetToDiffusers(block + ".resnets." + j, rest);
                return crossDown(b) ? block + ".attentions." + j + rest : null;
            }
            case "middle_block": {
                if (p.length < 2) return null;
                int k = index(p[1], 3);
                if (k < 0) return null;
                String rest = tail(p, 2);
                return k == 1 ? "mid_block.attentions.0" + rest : resnetToDiffusers("mid_block.resnets." + k / 2, rest);
            }
            case "output_blocks": {
                if (p.length < 3) return null;
                int k = index(p[1], n * per), part = index(p[2], 3);
                if (k < 0 || part < 0) return null;
                String rest = tail(p, 3);
                int b = k / per, j = k % per;
                String block = "up_blocks." + b;
                int upsampler = crossUp(b) ? 2 : 1;
                if (part == 0) return resnetToDiffusers(block + ".resnets." + j, rest);
                if (part == 1 && crossUp(b)) return block + ".attentions." + j + rest;
                if (part == upsampler && j == layers && b < n - 1) return block + ".upsamplers.0" + rest;
                return null;
            }
            default: return null;
        }
    }

    private boolean crossDown(int b) { return config.downBlockTypes().get(b).equals(UNetConfig.CROSS_DOWN); }

    private boolean crossUp(int b) { return config.upBlockTypes().get(b).equals(UNetConfig.CROSS_UP); }

    private static String linear(String which, String first, String second, String rest) {
        return switch (which) {
            case "linear_1" -> first + rest;
            case "linear_2" -> second + rest;
            default -> null;
        };
    }

    /** diffusers' ResnetBlock2D members and LDM's ResBlock ones, in the same order. */
    private static final String[] RESNET_DIFFUSERS = {"norm1", "conv1", "norm2", "conv2", "time_emb_proj", "conv_shortcut"};
    private static final String[] RESNET_LDM = {"in_layers.0", "in_layers.2", "out_layers.0", "out_layers.3", "emb_layers.1", "skip_connection"};

    /** {@code base} + the LDM name of a resnet member ({@code .conv1.weight} → {@code .in_layers.2.weight}); "" is the resnet itself. */
    private static String resnetToLdm(String base, String rest) {
        if (rest.isEmpty()) return base;
        String r = rest.substring(1);
        for (int i = 0; i < RESNET_DIFFUSERS.length; i++) {
            String d = RESNET_DIFFUSERS[i];
            if (r.equals(d) || r.startsWith(d + ".")) return base + "." + RESNET_LDM[i] + r.substring(d.length());
        }
        return null;
    }

    private static String resnetToDiffusers(String base, String rest) {
        if (rest.isEmpty()) return base;
        String r = rest.substring(1);
        for (int i = 0; i < RESNET_LDM.length; i++) {
            String l = RESNET_LDM[i];
            if (r.equals(l) || r.startsWith(l + ".")) return base + "." + RESNET_DIFFUSERS[i] + r.substring(l.length());
        }
        return null;
    }

    /** diffusers' Downsample2D holds its conv as {@code conv}, LDM's Downsample as {@code op}. */
    private static String downsamplerToLdm(String base, String rest) {
        if (rest.isEmpty()) return base;
        return rest.equals(".conv") || rest.startsWith(".conv.") ? base + ".op" + rest.substring(".conv".length()) : null;
    }

    private static String downsamplerToDiffusers(String base, String rest) {
        if (rest.isEmpty()) return base;
        return rest.equals(".op") || rest.startsWith(".op.") ? base + ".conv" + rest.substring(".op".length()) : null;
    }

    /** "." + the components from {@code from} on (the last one holds the unsplit remainder), or "". */
    private static String tail(String[] p, int from) {
        if (from >= p.length) return "";
        StringBuilder b = new StringBuilder();
        for (int i = from; i < p.length; i++) b.append('.').append(p[i]);
        return b.toString();
    }

    /** A decimal index below {@code bound} (no sign, no leading zeros), else -1. */
    private static int index(String s, int bound) {
        if (s.isEmpty() || s.length() > 6 || (s.length() > 1 && s.charAt(0) == '0')) return -1;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return -1;
        int v = Integer.parseInt(s);
        return v < bound ? v : -1;
    }
}
