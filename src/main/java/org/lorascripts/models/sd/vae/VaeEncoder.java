package org.lorascripts.models.sd.vae;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.Downsample2D;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;

/**
 * diffusers' VAE {@code Encoder}: conv_in, DownEncoderBlock2D x n (resnets, then a right/bottom-padded
 * stride-2 conv except in the last), mid block, norm, SiLU, conv_out to 2 x latent channels
 * (mean and log-variance).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/autoencoders/vae.py
 */
final class VaeEncoder {
    private final Conv2d convIn, convOut;
    private final List<List<ResnetBlock2D>> resnets = new ArrayList<>();
    private final List<Downsample2D> downsamplers = new ArrayList<>();
    private final VaeMidBlock mid;
    private final GroupNorm normOut;

    VaeEncoder(Weights w, VaeConfig c) {
        List<Integer> ch = c.blockOutChannels();
        int g = c.normNumGroups();
        convIn = new Conv2d(w.pp("conv_in"), c.inChannels(), ch.get(0), 3, 1, 1, true);
        long out = ch.get(0);
        for (int i = 0; i < ch.size(); i++) {
            long in = out;
            out = ch.get(i);
            Weights b = w.pp("down_blocks").pp(i);
            List<ResnetBlock2D> rs = new ArrayList<>();
            for (int j = 0; j < c.layersPerBlock(); j++) rs.add(new ResnetBlock2D(b.pp("resnets").pp(j), j == 0 ? in : out, out, 0, g, 1e-6));
            resnets.add(rs);
            downsamplers.add(i < ch.size() - 1 ? new Downsample2D(b.pp("downsamplers").pp(0), out, 0) : null);
        }
        mid = new VaeMidBlock(w.pp("mid_block"), out, g);
        normOut = new GroupNorm(w.pp("conv_norm_out"), g, out, 1e-6);
        convOut = new Conv2d(w.pp("conv_out"), out, 2L * c.latentChannels(), 3, 1, 1, true);
    }

    /** images (B, 3, H, W) → moments (B, 2 x latent, H/f, W/f). */
    Tensor forward(Tensor x) {
        // 1. conv_in
        // each block in a scope of its own, the previous activation freed: at 1024x1024 one fp32 activation
        // of the first level is 512 MiB per image, and holding every one until the caller's scope closes
        // would need tens of GiB
        Tensor h = Scope.scoped(() -> convIn.forward(x));
        // 2. down blocks
        for (int i = 0; i < resnets.size(); i++) {
            for (ResnetBlock2D r : resnets.get(i)) h = Scope.chain(h, x, in -> r.forward(in, null));
            Downsample2D d = downsamplers.get(i);
            if (d != null) h = Scope.chain(h, x, d::forward);
        }
        // 3. mid block, 4. norm, act, conv_out
        h = Scope.chain(h, x, mid::forward);
        return Scope.chain(h, x, in -> convOut.forward(normOut.forward(in).silu()));
    }
}
