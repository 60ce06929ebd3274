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
 * diffusers' {@code create_unet_diffusers_config_from_ldm} does from the original YAML. Some things
 * are not in the shapes: the attention head count (SD 1.x: 8 heads per block; SD 2.x and SDXL: 64
 * channels per head), the VAE's norm groups (32 in every SD VAE) and, for SDXL, the width of one
 * time id's embedding (256).
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
     * An SD 1.x / 2.x UNet.
     *
     * @param yaml  the checkpoint's LDM config, or null
     * @param notes collects one line per assumption made where neither the tensors nor a file said
     */
    UNetConfig unet(SdFamily family, UNetConfig.Prediction prediction, LdmSidecar yaml, List<String> notes) {
        boolean v = prediction == UNetConfig.Prediction.V_PREDICTION;
        return unet(family == SdFamily.SD1, family.displayName, family == SdFamily.SD2 && v ? 96 : 64, family == SdFamily.SD2 && v,
                prediction, yaml, notes);
    }

    /**
     * An SDXL UNet (SGM layout, {@code label_emb.*}): everything SD 1.x / 2.x has, read the same way,
     * plus the added condition's input width from {@code label_emb.0.0.weight}. SDXL's rules fill in
     * what the tensors do not say: 64 channels per head, time ids embedded in 256 channels (as diffusers
     * assumes for every such file), latents of 128.
     */
    UNetConfig sdxlUnet(UNetConfig.Prediction prediction, LdmSidecar yaml, List<String> notes) {
        return unet(false, "SDXL", 128, false, prediction, yaml, notes);
    }

    /** SDXL's width of one time id's sinusoidal embedding (addition_time_embed_dim). */
    static final int SDXL_TIME_ID_WIDTH = 256;

    private UNetConfig unet(boolean eightHeads, String rules, int sampleSize, boolean upcast, UNetConfig.Prediction prediction,
                            LdmSidecar yaml, List<String> notes) {
        long[] convIn = shape(u("input_blocks.0.0.weight"));
        int inputBlocks = countIndexed(u("input_blocks."));
        int layers = 0;
        while (1 + layers < inputBlocks && !has(u("input_blocks." + (1 + layers) + ".0.op.weight"))) layers++;
        int per = layers + 1;
        // conv_in, then per level `layers` resnets and a downsampler, none after the last level: n x per input blocks
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
            heads.add(heads(ch, eightHeads, rules, yaml, notes));
        }
        if (firstProj == null) firstProj = u("middle_block.1.proj_in.weight");
        boolean linear = shape(firstProj).length == 2;
        List<Integer> depth = transformerDepths(n, layers, down, up);
        int out = dim(u("out.2.weight"), 0);
        int groups = normGroups(channels, "UNet", notes);
        return new UNetConfig((int) convIn[1], out, sampleSize, channels, layers, heads, down, up, context,
                depth, linear, groups, 1e-5, upcast, prediction, textTime(notes));
    }

    /**
     * Transformer blocks per level, counted ({@code transformer_blocks.K}) in every attention of the
     * level, down and up, which must agree (diffusers has one number per level). A level without
     * attention gets 1, except the last, whose number diffusers gives the mid block.
     */
    private List<Integer> transformerDepths(int n, int layers, List<String> down, List<String> up) {
        int per = layers + 1;
        List<Integer> depth = new ArrayList<>();
        for (int level = 0; level < n; level++) {
            List<String> attentions = new ArrayList<>();
            if (down.get(level).equals(UNetConfig.CROSS_DOWN)) {
                for (int j = 0; j < layers; j++) attentions.add(u("input_blocks." + (1 + level * per + j) + ".1."));
            }
            int upBlock = n - 1 - level;
            if (up.get(upBlock).equals(UNetConfig.CROSS_UP)) {
                for (int j = 0; j < per; j++) attentions.add(u("output_blocks." + (upBlock * per + j) + ".1."));
            }
            int d = attentions.isEmpty() ? 0 : countTransformerBlocks(attentions.getFirst());
            for (String a : attentions) {
                int k = countTransformerBlocks(a);
                if (k != d) {
                    throw new UnsupportedOperationException(label + ": the transformers of level " + level + " have different depths (" + attentions.getFirst()
                            + "transformer_blocks.*: " + d + ", " + a + "transformer_blocks.*: " + k + "); not supported yet");
                }
            }
            depth.add(attentions.isEmpty() ? 1 : Math.max(d, 1));
        }
        int mid = Math.max(countTransformerBlocks(u("middle_block.1.")), 1);
        boolean lastHasAttention = down.getLast().equals(UNetConfig.CROSS_DOWN) || up.getFirst().equals(UNetConfig.CROSS_UP);
        if (!lastHasAttention) {
            depth.set(n - 1, mid);
        } else if (depth.getLast() != mid) {
            throw new UnsupportedOperationException(label + ": the mid block has " + mid + " transformer blocks and the last level " + depth.getLast()
                    + "; diffusers gives both the same depth, not supported");
        }
        return depth;
    }

    private int countTransformerBlocks(String attention) {
        int k = 0;
        while (has(attention + "transformer_blocks." + k + ".norm1.weight")) k++;
        return k;
    }

    /**
     * SDXL's added condition when the file has {@code label_emb}: the input width from
     * {@code label_emb.0.0.weight}; the width of one time id's embedding is not in the tensors and is
     * SDXL's 256 (base: 2816 = 1280 + 6 x 256; refiner: 2560 = 1280 + 5 x 256).
     */
    private UNetConfig.TextTime textTime(List<String> notes) {
        String name = u("label_emb.0.0.weight");
        if (!has(name)) return null;
        int inputDim = dim(name, 1);
        if (inputDim <= 5 * SDXL_TIME_ID_WIDTH) {
            throw new IllegalArgumentException(label + ": " + name + " takes " + inputDim + " features, too few for SDXL's time ids of " + SDXL_TIME_ID_WIDTH
                    + " channels each; the width of the time-id embedding is not in the tensors: embed the UNet's diffusers config.json as metadata unet_config");
        }
        if (inputDim != 2816 && inputDim != 2560) {
            note(notes, "added condition of " + inputDim + " features: time ids embedded in " + SDXL_TIME_ID_WIDTH + " channels assumed (SDXL's)");
        }
        return new UNetConfig.TextTime(SDXL_TIME_ID_WIDTH, inputDim);
    }

    /**
     * Attention heads of a block of {@code ch} channels: the yaml's num_head_channels or num_heads,
     * else the family's rule (SD 1.x: 8 heads; SD 2.x and SDXL: 64 channels per head), else, for widths the
     * rule does not divide, the most heads up to 8 that do.
     */
    private int heads(int ch, boolean eightHeads, String rules, LdmSidecar yaml, List<String> notes) {
        if (yaml != null && yaml.numHeadChannels() != null && yaml.numHeadChannels() > 0) return Math.max(1, ch / yaml.numHeadChannels());
        if (yaml != null && yaml.numHeads() != null && yaml.numHeads() > 0) {
            if (ch % yaml.numHeads() != 0) {
                throw new IllegalArgumentException(yaml.file() + ": num_heads " + yaml.numHeads() + " does not divide the " + ch
                        + "-channel blocks of " + label + "; fix the .yaml or remove it");
            }
            return yaml.numHeads();
        }
        int rule = eightHeads ? 8 : ch / 64;
        if (rule >= 1 && ch % rule == 0 && (eightHeads || ch % 64 == 0)) {
            if (!STANDARD_UNET_WIDTHS.contains(ch)) {
                note(notes, "UNet blocks of " + ch + " channels: " + rule + " attention heads assumed (" + rules
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

    VaeConfig vae(LdmSidecar yaml, List<String> notes) { return vae(yaml, notes, VaeConfig.SD_SCALING_FACTOR); }

    /** @param defaultScaling the family's scaling factor, used when the yaml does not give one (SDXL: 0.13025) */
    VaeConfig vae(LdmSidecar yaml, List<String> notes, double defaultScaling) {

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
        double scaling = yaml != null && yaml.scaleFactor() != null ? yaml.scaleFactor() : defaultScaling;
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
