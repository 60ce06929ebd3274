package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextDims;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

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

    /** Larger than any width, channel count or vocabulary of an SD model; bounds what a header may claim. */
    static final long MAX_DIM = 1 << 20;

    /** Dimension {@code axis} of tensor {@code name}, checked to be a plausible size. */
    int dim(String name, int axis) {
        long[] s = shape(name);
        if (axis >= s.length) throw new IllegalArgumentException(label + ": " + name + " has shape " + java.util.Arrays.toString(s) + "; expected at least " + (axis + 1) + " dimensions");
        return bounded(name, s[axis]);
    }

    int bounded(String name, long v) {
        if (v < 1 || v > MAX_DIM) throw new IllegalArgumentException(label + ": " + name + " claims a dimension of " + v + "; the file is damaged or not an SD checkpoint");
        return (int) v;
    }

    private String u(String name) { return LdmNames.UNET_PREFIX + name; }

    /** The cross-attention (text) width: the in-features of the first attn2.to_k. */
    int contextDim() {
        for (String n : src.names()) {
            if (n.startsWith(LdmNames.UNET_PREFIX) && n.endsWith(".attn2.to_k.weight")) return dim(n, 1);
        }
        throw new IllegalArgumentException(label + ": no cross-attention (attn2.to_k) weights in " + LdmNames.UNET_PREFIX + "*; not a text-to-image UNet");
    }

    /**
     * @param yaml  the checkpoint's LDM config, or null
     * @param notes collects one line per assumption made where neither the tensors nor a file said
     */
    UNetConfig unet(SdFamily family, UNetConfig.Prediction prediction, LdmSidecar yaml, List<String> notes) {
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
            int ch = dim(u("input_blocks." + (1 + b * per) + ".0.out_layers.3.weight"), 0);
            channels.add(ch);
            String proj = u("input_blocks." + (1 + b * per) + ".1.proj_in.weight");
            down.add(has(proj) ? UNetConfig.CROSS_DOWN : UNetConfig.DOWN);
            if (firstProj == null && has(proj)) firstProj = proj;
            up.add(has(u("output_blocks." + (b * per) + ".1.proj_in.weight")) ? UNetConfig.CROSS_UP : UNetConfig.UP);
            heads.add(heads(ch, family, yaml, notes));
        }
        if (firstProj == null) firstProj = u("middle_block.1.proj_in.weight");
        boolean linear = shape(firstProj).length == 2;
        String attn = firstProj.substring(0, firstProj.length() - "proj_in.weight".length());
        int tl = 0;
        while (has(attn + "transformer_blocks." + tl + ".norm1.weight")) tl++;
        int out = dim(u("out.2.weight"), 0);
        boolean v = prediction == UNetConfig.Prediction.V_PREDICTION;
        int groups = normGroups(channels, "UNet", notes);
        return new UNetConfig((int) convIn[1], out, family == SdFamily.SD2 && v ? 96 : 64, channels, layers, heads, down, up, context,
                Math.max(tl, 1), linear, groups, 1e-5, family == SdFamily.SD2 && v, prediction);
    }

    /**
     * Attention heads of a block of {@code ch} channels: the yaml's num_head_channels or num_heads,
     * else the family's rule (SD 1.x: 8 heads; SD 2.x: 64 channels per head), else, for widths the
     * rule does not divide, the most heads up to 8 that do.
     */
    private int heads(int ch, SdFamily family, LdmSidecar yaml, List<String> notes) {
        if (yaml != null && yaml.numHeadChannels() != null && yaml.numHeadChannels() > 0) return Math.max(1, ch / yaml.numHeadChannels());
        if (yaml != null && yaml.numHeads() != null && yaml.numHeads() > 0) {
            if (ch % yaml.numHeads() != 0) {
                throw new IllegalArgumentException(yaml.file() + ": num_heads " + yaml.numHeads() + " does not divide the " + ch
                        + "-channel blocks of " + label + "; fix the .yaml or remove it");
            }
            return yaml.numHeads();
        }
        int rule = family == SdFamily.SD1 ? 8 : ch / 64;
        if (rule >= 1 && ch % rule == 0 && (family == SdFamily.SD1 || ch % 64 == 0)) {
            if (!STANDARD_UNET_WIDTHS.contains(ch)) {
                note(notes, "UNet blocks of " + ch + " channels: " + rule + " attention heads assumed (" + family.displayName
                        + "'s rule); a .yaml next to the checkpoint, or ldm_config, can say otherwise");
            }
            return rule;
        }
        int h = largestDivisorUpTo(ch, 8);
        note(notes, "UNet blocks of " + ch + " channels: " + h + " attention heads assumed; a .yaml next to the checkpoint, or ldm_config, can say otherwise");
        return h;
    }

    private static final List<Integer> STANDARD_UNET_WIDTHS = List.of(320, 640, 1280);

    /** 32 groups as in every SD model, or the most groups that divide every width. */
    static int normGroups(List<Integer> channels, String what, List<String> notes) {
        for (int g = 32; g > 1; g /= 2) {
            final int groups = g;
            if (channels.stream().allMatch(c -> c % groups == 0)) {
                if (g != 32) note(notes, what + " channels " + channels + ": " + g + " norm groups assumed (32 do not divide them)");
                return g;
            }
        }
        note(notes, what + " channels " + channels + ": 1 norm group assumed");
        return 1;
    }

    static int largestDivisorUpTo(int n, int max) {
        for (int h = Math.min(max, n); h > 1; h--) if (n % h == 0) return h;
        return 1;
    }

    private static void note(List<String> notes, String line) {
        if (notes != null && !notes.contains(line)) notes.add(line);
    }

    /**
     * The text encoder's shape from its tensors (read through {@code hf}, which answers
     * transformers' CLIPTextModel names whatever the layout), by {@link ClipTextDims}'s rules with the
     * family's encoder for what the tensors do not say. An OpenCLIP tower conditions on its
     * penultimate layer (SD 2.x) unless the yaml says otherwise.
     */
    ClipTextConfig text(WeightSource hf, SdFamily family, TextEncoderSlot.Layout layout, LdmSidecar yaml, List<String> notes) {
        ClipTextConfig preset = family == SdFamily.SD2 ? ClipTextConfig.sd2() : ClipTextConfig.sd15();
        ClipTextConfig all = ClipTextDims.infer(hf, preset, label, notes).config();
        boolean penultimate = layout == TextEncoderSlot.Layout.OPEN_CLIP && (yaml == null || yaml.penultimate() == null || yaml.penultimate());
        return penultimate && all.layers() > 1 ? all.withLayers(all.layers() - 1) : all;
    }

    VaeConfig vae(LdmSidecar yaml, List<String> notes) {

        String p = LdmNames.VAE_PREFIX;
        List<Integer> channels = new ArrayList<>();
        for (int i = 0; has(p + "encoder.down." + i + ".block.0.conv1.weight"); i++) {
            channels.add(dim(p + "encoder.down." + i + ".block.0.conv1.weight", 0));
        }
        if (channels.isEmpty()) throw new IllegalArgumentException(label + ": no VAE encoder weights (" + p + "encoder.down.0.block.0.conv1.weight)");
        int layers = 0;
        while (has(p + "encoder.down.0.block." + layers + ".conv1.weight")) layers++;
        int latent = dim(p + "post_quant_conv.weight", 0);
        int in = dim(p + "encoder.conv_in.weight", 1);
        int out = dim(p + "decoder.conv_out.weight", 0);
        double scaling = yaml != null && yaml.scaleFactor() != null ? yaml.scaleFactor() : VaeConfig.SD_SCALING_FACTOR;
        return new VaeConfig(in, out, latent, channels, layers, normGroups(channels, "VAE", notes), 512, scaling);
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
