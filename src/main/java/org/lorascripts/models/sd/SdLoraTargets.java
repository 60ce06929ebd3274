package org.lorascripts.models.sd;

import java.util.function.Predicate;

/**
 * Which modules kohya's {@code networks.lora} puts a LoRA on in SD 1.x / 2.x, by diffusers module
 * path. UNet: every linear / convolution inside a {@code Transformer2DModel} (the {@code attentions.N}
 * blocks: proj_in, proj_out, attn1/attn2 to_q/to_k/to_v/to_out.0, ff.net.0.proj, ff.net.2); with
 * conv_dim (LoCon) also everything inside {@code ResnetBlock2D}, {@code Downsample2D} and
 * {@code Upsample2D} (kohya's {@code UNET_TARGET_REPLACE_MODULE_CONV2D_3X3}: the 3x3 convs at the
 * conv rank, time_emb_proj and 1x1 shortcuts at the linear rank). Text encoder: every linear of
 * {@code CLIPAttention} and {@code CLIPMLP}, which are exactly {@link ClipTextModel#loraHosts()}.
 * Reference: https://github.com/kohya-ss/sd-scripts/blob/main/networks/lora.py ({@code create_modules}).
 */
public final class SdLoraTargets {
    private SdLoraTargets() {}

    /** UNet module paths that get an adapter; {@code locon} = conv_rank > 0. */
    public static Predicate<String> unet(boolean locon) {
        return path -> inBlock(path, "attentions") || (locon && (inBlock(path, "resnets") || inBlock(path, "downsamplers")
                || inBlock(path, "upsamplers")));
    }

    /** True when a path segment equals {@code block} and is followed by an index ({@code ...attentions.0...}). */
    static boolean inBlock(String path, String block) {
        String[] parts = path.split("\\.");
        for (int i = 0; i + 1 < parts.length; i++) {
            if (parts[i].equals(block) && !parts[i + 1].isEmpty() && parts[i + 1].chars().allMatch(Character::isDigit)) return true;
        }
        return false;
    }
}
