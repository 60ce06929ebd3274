package org.lorascripts.models.sd.load;

import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * diffusers parameter names → the original LDM / CompVis names of single-file SD checkpoints, the
 * inverse of diffusers' {@code convert_ldm_unet_checkpoint} and {@code convert_ldm_vae_checkpoint}.
 * Names come without the file prefixes ({@link #UNET_PREFIX}, {@link #VAE_PREFIX}); null means the
 * name has no LDM counterpart.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/loaders/single_file_utils.py
 */
public final class LdmNames {
    private LdmNames() {}

    public static final String UNET_PREFIX = "model.diffusion_model.";
    public static final String VAE_PREFIX = "first_stage_model.";
    /** SD 1.x: HF CLIPTextModel names follow this prefix verbatim ({@code text_model.encoder.layers.0...}). */
    public static final String CLIP_PREFIX = "cond_stage_model.transformer.";
    /** SD 2.x: OpenCLIP names ({@code transformer.resblocks.0.attn.in_proj_weight}, ...). */
    public static final String OPEN_CLIP_PREFIX = "cond_stage_model.model.";

    /**
     * A UNet name, e.g. {@code down_blocks.1.attentions.0.proj_in.weight} → {@code input_blocks.4.1.proj_in.weight}
     * (SD 1.x / 2.x and SDXL; {@link LdmUnetNames} has both directions).
     */
    public static String unet(String name, UNetConfig c) { return new LdmUnetNames(c).toLdm(name); }

    /** A VAE name, e.g. {@code decoder.up_blocks.0.resnets.1.conv1.weight} → {@code decoder.up.3.block.1.conv1.weight}. */
    public static String vae(String name, VaeConfig c) {
        int n = c.blockOutChannels().size();
        String[] p = name.split("\\.");
        if (p[0].equals("quant_conv") || p[0].equals("post_quant_conv")) return name;
        if (!p[0].equals("encoder") && !p[0].equals("decoder")) return null;
        String side = p[0];
        switch (p[1]) {
            case "conv_in", "conv_out": return name;
            case "conv_norm_out": return side + ".norm_out." + p[2];
            case "down_blocks": {
                int i = Integer.parseInt(p[2]);
                if (p[3].equals("resnets")) return side + ".down." + i + ".block." + p[4] + "." + vaeResnet(p[5]) + "." + p[6];
                if (p[3].equals("downsamplers")) return side + ".down." + i + ".downsample.conv." + p[6];
                return null;
            }
            case "up_blocks": {
                int i = n - 1 - Integer.parseInt(p[2]);
                if (p[3].equals("resnets")) return side + ".up." + i + ".block." + p[4] + "." + vaeResnet(p[5]) + "." + p[6];
                if (p[3].equals("upsamplers")) return side + ".up." + i + ".upsample.conv." + p[6];
                return null;
            }
            case "mid_block": {
                if (p[2].equals("resnets")) return side + ".mid.block_" + (Integer.parseInt(p[3]) + 1) + "." + vaeResnet(p[4]) + "." + p[5];
                if (p[2].equals("attentions")) {
                    String leaf = p[p.length - 1];
                    String m = switch (p[4]) {
                        case "group_norm" -> "norm";
                        case "to_q" -> "q";
                        case "to_k" -> "k";
                        case "to_v" -> "v";
                        case "to_out" -> "proj_out";
                        default -> null;
                    };
                    return m == null ? null : side + ".mid.attn_1." + m + "." + leaf;
                }
                return null;
            }
            default: return null;
        }
    }

    private static String vaeResnet(String m) { return m.equals("conv_shortcut") ? "nin_shortcut" : m; }

    /** Whether a VAE name is a mid-block attention projection weight (stored as a 1x1 conv in LDM files). */
    static boolean isVaeAttentionMatrix(String name) {
        return name.contains("mid_block.attentions.0.") && name.endsWith(".weight") && !name.contains("group_norm");
    }
}
