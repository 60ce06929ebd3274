package org.lorascripts.models.sd.blocks;

import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * diffusers' {@code ResnetBlock2D} with the SD settings (pre-norm, SiLU, "default" time conditioning,
 * output scale 1, no dropout at train time in SD's configs). Used by the UNet (with a time embedding)
 * and the VAE ({@code tembChannels = 0}: no time_emb_proj).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/resnet.py
 */
public final class ResnetBlock2D {
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, convShortcut;
    private final Linear timeEmbProj;
    private final BlockCheckpoint checkpoint;

    public ResnetBlock2D(Weights w, long in, long out, long tembChannels, int groups, double eps) {
        norm1 = new GroupNorm(w.pp("norm1"), groups, in, eps);
        conv1 = new Conv2d(w.pp("conv1"), in, out, 3, 1, 1, true);
        timeEmbProj = tembChannels > 0 ? new Linear(w.pp("time_emb_proj"), tembChannels, out, true) : null;
        norm2 = new GroupNorm(w.pp("norm2"), groups, out, eps);
        conv2 = new Conv2d(w.pp("conv2"), out, out, 3, 1, 1, true);
        convShortcut = in != out ? new Conv2d(w.pp("conv_shortcut"), in, out, 1, 1, 0, true) : null;
        checkpoint = new BlockCheckpoint(w.loraHosts(), w.prefix());
    }

    /** As {@link #forward(Tensor, Tensor)}, recomputed in backward when {@code gradientCheckpointing}. */
    public Tensor forward(Tensor x, Tensor temb, boolean gradientCheckpointing) {
        return checkpoint.run(gradientCheckpointing, (in, recompute) -> body(in.get(0), in.get(1), recompute), x, temb);
    }

    /** x (B, Cin, H, W), temb (B, T) or null → (B, Cout, H, W). */
    public Tensor forward(Tensor x, Tensor temb) { return body(x, temb, false); }

    /**
     * {@code gradientsOnly}: the checkpoint's recompute for backward, whose output only carries gradients: conv2 and
     * the shortcut, whose products are only summed into the output, run for their gradients alone
     * ({@link Conv2d#gradientPath}), which skips half the block's convolution work.
     */
    private Tensor body(Tensor x, Tensor temb, boolean gradientsOnly) {
        // 1. norm, act, conv; 2. add the projected time embedding per channel (each half in a scope of its
        // own, so its temporaries are freed at once; autograd keeps what backward needs)
        Tensor h = Scope.scoped(() -> {
            Tensor c = conv1.forward(norm1.forwardSilu(x));         // (B, Cout, H, W)
            if (timeEmbProj == null) return c;
            Tensor t = timeEmbProj.forward(temb.silu());               // (B, Cout)
            return c.add(t.unsqueeze(-1).unsqueeze(-1));
        });
        // 3. norm, act, (dropout p=0), conv
        h = Scope.chain(h, x, in -> gradientsOnly ? conv2.gradientPath(norm2.forwardSilu(in)) : conv2.forward(norm2.forwardSilu(in)));
        // 4. residual, through a 1x1 conv when channels change
        Tensor skip = convShortcut == null ? x : gradientsOnly ? convShortcut.gradientPath(x) : convShortcut.forward(x);
        return skip.add(h);
    }
}
