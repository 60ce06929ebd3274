package org.lorascripts.models.sd.unet;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The SD 1.x / 2.x and SDXL denoiser, diffusers' {@code UNet2DConditionModel} with its parameter names
 * (conv_in, time_embedding.linear_1, down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q, ...),
 * so every linear and convolution is registered as a LoRA host under its diffusers path.
 *
 * <p>SDXL ({@link UNetConfig#sdxl()}) differs only in its config: three levels, the first without
 * attention, transformer depth per level ([1, 2, 10]; the mid block 10), and the added condition
 * ({@link UNetConfig#hasTextTime()}: pooled text embedding and size/crop time ids, see
 * {@link AddedConditions}) whose embedding (add_embedding) is added to the time embedding.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_condition.py
 * (blocks in unet_2d_blocks.py, Timesteps / TimestepEmbedding in embeddings.py).
 */
public final class UNet2DConditionModel implements AutoCloseable {
    private final UNetConfig config;
    private final Weights weights;
    private final boolean ownsWeights;
    private final Conv2d convIn, convOut;
    private final Linear timeLinear1, timeLinear2;
    private final TextTimeEmbedding addEmbedding;
    private final List<UNetDownBlock> downBlocks = new ArrayList<>();
    private final UNetMidBlock midBlock;
    private final List<UNetUpBlock> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private boolean gradientCheckpointing;

    /** Builds the model over weights named as diffusers names them (under {@code w}'s prefix). */
    public UNet2DConditionModel(Weights w, UNetConfig c) { this(w, c, false); }

    private UNet2DConditionModel(Weights w, UNetConfig c, boolean owns) {
        this.config = c;
        this.weights = w;
        this.ownsWeights = owns;
        List<Integer> ch = c.blockOutChannels();
        int n = ch.size();
        long c0 = ch.get(0), temb = c.timeEmbedDim();
        // fp8_base stores the blocks' linear and convolution weights; the input and output convolutions and the
        // embeddings stay as they are (few bytes, and read as they are)
        boolean fp8 = w.fp8Base();
        w.setFp8Base(false);
        convIn = new Conv2d(w.pp("conv_in"), c.inChannels(), c0, 3, 1, 1, true);
        timeLinear1 = new Linear(w.pp("time_embedding").pp("linear_1"), c0, temb, true);
        timeLinear2 = new Linear(w.pp("time_embedding").pp("linear_2"), temb, temb, true);
        addEmbedding = c.hasTextTime() ? new TextTimeEmbedding(w.pp("add_embedding"), c.textTime(), temb) : null;
        long out = c0;
        w.setFp8Base(fp8);
        for (int i = 0; i < n; i++) {
            long in = out;
            out = ch.get(i);
            downBlocks.add(new UNetDownBlock(w.pp("down_blocks").pp(i), c, i, in, out,
                    c.downBlockTypes().get(i).equals(UNetConfig.CROSS_DOWN), i < n - 1));
        }
        midBlock = new UNetMidBlock(w.pp("mid_block"), c);
        out = ch.get(n - 1);
        for (int i = 0; i < n; i++) {
            long prev = out;
            out = ch.get(n - 1 - i);
            long in = ch.get(Math.max(n - 2 - i, 0));
            upBlocks.add(new UNetUpBlock(w.pp("up_blocks").pp(i), c, in, prev, out, c.attentionHeadDim().get(n - 1 - i),
                    c.transformerDepth(n - 1 - i), c.upBlockTypes().get(i).equals(UNetConfig.CROSS_UP), i < n - 1));
        }
        w.setFp8Base(false);
        convNormOut = new GroupNorm(w.pp("conv_norm_out"), c.normNumGroups(), c0, c.normEps());
        convOut = new Conv2d(w.pp("conv_out"), c0, c.outChannels(), 3, 1, 1, true);
        w.setFp8Base(fp8);
    }

    /** Loads the model from a weight source (diffusers names) onto a device; close() frees the weights. */
    public static UNet2DConditionModel load(UNetConfig c, WeightSource source, Device device, DType dtype) {
        return load(c, source, device, dtype, false);
    }

    /**
     * As {@link #load(UNetConfig, WeightSource, Device, DType)}, with {@code fp8Base} the linear and convolution weights
     * of the down, mid and up blocks stored as fp8 (kohya's {@code fp8_base}).
     */
    public static UNet2DConditionModel load(UNetConfig c, WeightSource source, Device device, DType dtype, boolean fp8Base) {
        Weights w = new Weights(source, device, dtype);
        w.setFp8Base(fp8Base);
        try {
            return new UNet2DConditionModel(w, c, true);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public UNetConfig config() { return config; }

    /** Every linear / convolution by diffusers module path (e.g. {@code mid_block.attentions.0.proj_in}). */
    public Map<String, LoraHost> loraHosts() { return weights.loraHosts(); }

    /** The frozen weights by diffusers name. */
    public Map<String, Tensor> parameters() { return weights.loadedTensors(); }

    /** Re-computes each resnet and transformer block in backward instead of keeping its activations. */
    public void setGradientCheckpointing(boolean on) { gradientCheckpointing = on; }

    public boolean gradientCheckpointing() { return gradientCheckpointing; }

    /**
     * latents (B, 4, h, w), timesteps (B) (integer or float), encoderHiddenStates (B, 77k, D) →
     * the prediction (B, 4, h, w) in the weights' dtype (noise or v, see {@link UNetConfig#prediction()}).
     * For a UNet without added conditions (SD 1.x / 2.x); SDXL's needs {@link #forward(Tensor, Tensor, Tensor, AddedConditions)}.
     */
    public Tensor forward(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates) {
        return forward(latents, timesteps, encoderHiddenStates, null);
    }

    /**
     * As {@link #forward(Tensor, Tensor, Tensor)} with SDXL's added conditions: {@code added} carries
     * textEmbeds (B, 1280) and timeIds (B, 6), required when the config has text_time and refused otherwise.
     */
    public Tensor forward(Tensor latents, Tensor timesteps, Tensor encoderHiddenStates, AddedConditions added) {
        if (addEmbedding != null && added == null) throw missingAddedConditions();
        if (addEmbedding == null && added != null) {
            throw new IllegalArgumentException("UNet2DConditionModel: this UNet has no added conditions (no addition_embed_type in its config);"
                    + " call forward(latents, timesteps, encoderHiddenStates) without AddedConditions");
        }
        DType dt = convIn.weight().dtype();
        int n = downBlocks.size();
        long h = latents.size(2), w = latents.size(3);
        long upFactor = 1L << (n - 1);
        boolean explicitUpsampleSize = h % upFactor != 0 || w % upFactor != 0;
        Tensor x = latents.dtype() == dt ? latents : latents.to(dt);
        Tensor ctx = encoderHiddenStates.dtype() == dt ? encoderHiddenStates : encoderHiddenStates.to(dt);

        // 1. time: sinusoidal embedding (B, C0) in fp32, then the MLP → (B, 4 C0)
        Tensor tEmb = timestepEmbedding(timesteps, config.blockOutChannels().get(0), latents.size(0)).to(dt);
        Tensor emb = timeLinear2.forward(timeLinear1.forward(tEmb).silu());   // (B, T)
        // 1b. SDXL: [pooled text (B, P), time ids embedded (B, K x 256)] → add_embedding → (B, T), added
        if (addEmbedding != null) emb = emb.add(addEmbedding.forward(added, latents.size(0), dt));

        // 2. pre-process
        Tensor s = convIn.forward(x);                                          // (B, C0, h, w)

        // 3. down: every output is kept as a skip connection
        List<Tensor> skips = new ArrayList<>();
        skips.add(s);
        for (UNetDownBlock b : downBlocks) s = b.forward(s, emb, ctx, skips, gradientCheckpointing);

        // 4. mid                                                             // (B, C_last, h/2^(n-1), w/2^(n-1))
        s = midBlock.forward(s, emb, ctx, gradientCheckpointing);

        // 5. up: each block consumes layers+1 skips, last-first
        for (int i = 0; i < n; i++) {
            UNetUpBlock b = upBlocks.get(i);
            long[] size = null;
            if (i < n - 1 && explicitUpsampleSize) {
                Tensor next = skips.get(skips.size() - 1 - b.layers());       // the skip the next block starts with
                size = new long[] {next.size(2), next.size(3)};
            }
            Tensor next = b.forward(s, skips, emb, ctx, size, gradientCheckpointing);
            s.close();                                                     // the mid block's or the previous up block's output
            s = next;
        }

        // 6. post-process                                                    // (B, C0, h, w) → (B, out, h, w)
        return convOut.forward(convNormOut.forwardSilu(s));
    }

    private IllegalArgumentException missingAddedConditions() {
        UNetConfig.TextTime tt = config.textTime();
        return new IllegalArgumentException("UNet2DConditionModel: this UNet takes SDXL's added conditions (addition_embed_type " + UNetConfig.TextTime.TYPE
                + "); call forward(latents, timesteps, encoderHiddenStates, new AddedConditions(textEmbeds, timeIds)) with the pooled text embedding (B, P)"
                + " and the time ids (B, K), P + K x " + tt.timeEmbedDim() + " = " + tt.inputDim()
                + " (SDXL: P = 1280, K = 6: original height, width, crop top, left, target height, width)");
    }

    /**
     * diffusers' {@code Timesteps(C, flip_sin_to_cos=True, downscale_freq_shift=0)}: (B) → (B, C) fp32,
     * [cos(t f_k), sin(t f_k)] with f_k = exp(-ln(10000) k / (C/2)).
     */
    static Tensor timestepEmbedding(Tensor timesteps, long dim, long batch) {
        long half = dim / 2;
        Device dev = timesteps.device();
        Tensor t = timesteps.dim() == 0 ? timesteps.unsqueeze(0) : timesteps;
        t = t.to(DType.F32).expand(batch);                                     // (B)
        Tensor freqs = Torch.arange(0, half, 1, DType.F32, dev).mul(-Math.log(10000)).div(half).exp();   // (C/2), rounded as diffusers
        Tensor args = t.unsqueeze(1).mul(freqs.unsqueeze(0));                  // (B, C/2)
        return Torch.cat(List.of(args.cos(), args.sin()), 1);                  // (B, C)
    }

    @Override public void close() {
        if (ownsWeights) weights.close();
    }
}
