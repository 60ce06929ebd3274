package org.lorascripts.models.sd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.io.TensorSource;

/**
 * Infers the UNet and VAE configs of an LDM single-file checkpoint from its tensor shapes, as
 * diffusers' {@code create_unet_diffusers_config_from_ldm} does from the original YAML. Two things
 * are not in the shapes: the attention head count (SD 1.x: 8 heads per block; SD 2.x: 64 channels
 * per head) and the VAE's norm groups (32 in every SD VAE).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/loaders/single_file_utils.py
 */
final class LdmConfigs {
    private final TensorSource src;
    private final String label;

    LdmConfigs(TensorSource src, String label) {
        this.src = src;
        this.label = label;
    }

    long[] shape(String name) {
        try {
            return src.info(name).shape();
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": " + e.getMessage(), e);
        }
    }

    boolean has(String name) { return src.contains(name); }

    private String u(String name) { return LdmNames.UNET_PREFIX + name; }

    /** The cross-attention (text) width: the in-features of the first attn2.to_k. */
    int contextDim() {
        for (String n : src.names()) {
            if (n.startsWith(LdmNames.UNET_PREFIX) && n.endsWith(".attn2.to_k.weight")) return (int) shape(n)[1];
        }
        throw new IllegalArgumentException(label + ": no cross-attention (attn2.to_k) weights in " + LdmNames.UNET_PREFIX + "*; not a text-to-image UNet");
    }

    UNetConfig unet(SdFamily family, UNetConfig.Prediction prediction) {
        long[] convIn = shape(u("input_blocks.0.0.weight"));
        int inputBlocks = countIndexed(u("input_blocks."));
        int layers = 0;
        while (1 + layers < inputBlocks && !has(u("input_blocks." + (1 + layers) + ".0.op.weight"))) layers++;
        int per = layers + 1;
        if (layers == 0 || inputBlocks % per != 0) {
            throw new IllegalArgumentException(label + ": cannot read the UNet's block structure (" + inputBlocks + " input blocks, " + layers + " resnets before the first downsampler)");
        }
        int n = inputBlocks / per;
        List<Integer> channels = new ArrayList<>();
        List<Integer> heads = new ArrayList<>();
        List<String> down = new ArrayList<>(), up = new ArrayList<>();
        int context = contextDim();
        String firstProj = null;
        for (int b = 0; b < n; b++) {
            int ch = (int) shape(u("input_blocks." + (1 + b * per) + ".0.out_layers.3.weight"))[0];
            channels.add(ch);
            String proj = u("input_blocks." + (1 + b * per) + ".1.proj_in.weight");
            down.add(has(proj) ? UNetConfig.CROSS_DOWN : UNetConfig.DOWN);
            if (firstProj == null && has(proj)) firstProj = proj;
            up.add(has(u("output_blocks." + (b * per) + ".1.proj_in.weight")) ? UNetConfig.CROSS_UP : UNetConfig.UP);
            heads.add(switch (family) {
                case SD1 -> 8;
                case SD2 -> ch / 64;
            });
        }
        if (firstProj == null) firstProj = u("middle_block.1.proj_in.weight");
        boolean linear = shape(firstProj).length == 2;
        String attn = firstProj.substring(0, firstProj.length() - "proj_in.weight".length());
        int tl = 0;
        while (has(attn + "transformer_blocks." + tl + ".norm1.weight")) tl++;
        int out = (int) shape(u("out.2.weight"))[0];
        boolean v = prediction == UNetConfig.Prediction.V_PREDICTION;
        return new UNetConfig((int) convIn[1], out, family == SdFamily.SD2 && v ? 96 : 64, channels, layers, heads, down, up, context,
                Math.max(tl, 1), linear, 32, 1e-5, family == SdFamily.SD2 && v, prediction);
    }

    VaeConfig vae() {
        String p = LdmNames.VAE_PREFIX;
        List<Integer> channels = new ArrayList<>();
        for (int i = 0; has(p + "encoder.down." + i + ".block.0.conv1.weight"); i++) {
            channels.add((int) shape(p + "encoder.down." + i + ".block.0.conv1.weight")[0]);
        }
        if (channels.isEmpty()) throw new IllegalArgumentException(label + ": no VAE encoder weights (" + p + "encoder.down.0.block.0.conv1.weight)");
        int layers = 0;
        while (has(p + "encoder.down.0.block." + layers + ".conv1.weight")) layers++;
        int latent = (int) shape(p + "post_quant_conv.weight")[0];
        int in = (int) shape(p + "encoder.conv_in.weight")[1];
        int out = (int) shape(p + "decoder.conv_out.weight")[0];
        return new VaeConfig(in, out, latent, channels, layers, 32, 512, VaeConfig.SD_SCALING_FACTOR);
    }

    /** 1 + the largest index k of names {@code prefix + k + "..."}. */
    private int countIndexed(String prefix) {
        int max = -1;
        for (String name : src.names()) {
            if (!name.startsWith(prefix)) continue;
            String rest = name.substring(prefix.length());
            int dot = rest.indexOf('.');
            if (dot > 0) {
                try {
                    max = Math.max(max, Integer.parseInt(rest.substring(0, dot)));
                } catch (NumberFormatException ignored) { /* not an index */ }
            }
        }
        return max + 1;
    }
}
