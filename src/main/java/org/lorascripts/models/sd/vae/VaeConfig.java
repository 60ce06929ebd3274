package org.lorascripts.models.sd.vae;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.lorascripts.io.JsonFields;
import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * diffusers' {@code AutoencoderKL} config (the SD 1.x / 2.x VAE). {@code scalingFactor} maps VAE
 * latents to the UNet's unit-variance latent space (0.18215 for SD 1.x and 2.x).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/autoencoders/autoencoder_kl.py
 */
public record VaeConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels, int layersPerBlock,
                        int normNumGroups, int sampleSize, double scalingFactor) {
    public static final double SD_SCALING_FACTOR = 0.18215;

    public VaeConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        for (int c : blockOutChannels) {
            if (c % normNumGroups != 0) throw new IllegalArgumentException("VAE block_out_channels " + blockOutChannels + " are not all divisible by norm_num_groups " + normNumGroups);
        }
    }

    /** The SD 1.x / 2.x VAE. */
    public static VaeConfig sd() {
        return new VaeConfig(3, 3, 4, List.of(128, 256, 512, 512), 2, 32, 512, SD_SCALING_FACTOR);
    }

    /** Image pixels per latent pixel along each side. */
    public int downscale() { return 1 << (blockOutChannels.size() - 1); }

    public static VaeConfig fromJson(JsonNode json, String file) {
        JsonFields c = JsonFields.of(json, file);
        c.requireOneOf("act_fn", "activation", "silu");
        c.requireOneOf("use_quant_conv", "VAEs without quant_conv", true);
        c.requireOneOf("use_post_quant_conv", "VAEs without post_quant_conv", true);
        c.requireOneOf("mid_block_add_attention", "VAEs without mid-block attention", true);
        c.requireOneOf("shift_factor", "latent shift (SD3/Flux VAEs)");
        c.requireOneOf("force_upcast", "(any value)", true, false);
        List<Integer> ch = c.integers("block_out_channels", 0, List.of(64));
        for (String t : c.strings("down_block_types", List.of())) {
            if (!t.equals("DownEncoderBlock2D")) throw new UnsupportedOperationException(file + ": VAE down block type " + t + " is not supported yet");
        }
        for (String t : c.strings("up_block_types", List.of())) {
            if (!t.equals("UpDecoderBlock2D")) throw new UnsupportedOperationException(file + ": VAE up block type " + t + " is not supported yet");
        }
        return new VaeConfig(c.integer("in_channels", 3), c.integer("out_channels", 3), c.integer("latent_channels", 4), ch,
                c.integer("layers_per_block", 1), c.integer("norm_num_groups", 32), c.integer("sample_size", 32),
                c.number("scaling_factor", SD_SCALING_FACTOR));
    }

    public String toDiffusersJson() {
        String down = UNetConfig.strs(java.util.Collections.nCopies(blockOutChannels.size(), "DownEncoderBlock2D"));
        String up = UNetConfig.strs(java.util.Collections.nCopies(blockOutChannels.size(), "UpDecoderBlock2D"));
        return "{\n  \"_class_name\": \"AutoencoderKL\",\n  \"act_fn\": \"silu\",\n  \"block_out_channels\": " + blockOutChannels
                + ",\n  \"down_block_types\": " + down + ",\n  \"in_channels\": " + inChannels + ",\n  \"latent_channels\": " + latentChannels
                + ",\n  \"layers_per_block\": " + layersPerBlock + ",\n  \"norm_num_groups\": " + normNumGroups + ",\n  \"out_channels\": " + outChannels
                + ",\n  \"sample_size\": " + sampleSize + ",\n  \"scaling_factor\": " + scalingFactor + ",\n  \"up_block_types\": " + up + "\n}\n";
    }
}
