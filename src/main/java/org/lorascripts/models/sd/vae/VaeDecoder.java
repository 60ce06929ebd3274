package org.lorascripts.models.sd.vae;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;
import org.lorascripts.models.sd.blocks.Upsample2D;

/**
 * diffusers' VAE {@code Decoder}: conv_in, mid block, UpDecoderBlock2D x n (layers + 1 resnets, then a
 * nearest 2x upsample and conv except in the last; channels reversed), norm, SiLU, conv_out.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/autoencoders/vae.py
 */
final class VaeDecoder {
    private final Conv2d convIn, convOut;
    private final VaeMidBlock mid;
    private final List<List<ResnetBlock2D>> resnets = new ArrayList<>();
    private final List<Upsample2D> upsamplers = new ArrayList<>();
    private final GroupNorm normOut;

    VaeDecoder(Weights w, VaeConfig c) {
        List<Integer> ch = c.blockOutChannels();
        int n = ch.size(), g = c.normNumGroups();
        long top = ch.get(n - 1);
        convIn = new Conv2d(w.pp("conv_in"), c.latentChannels(), top, 3, 1, 1, true);
        mid = new VaeMidBlock(w.pp("mid_block"), top, g);
        long out = top;
        for (int i = 0; i < n; i++) {
            long prev = out;
            out = ch.get(n - 1 - i);
            Weights b = w.pp("up_blocks").pp(i);
            List<ResnetBlock2D> rs = new ArrayList<>();
            for (int j = 0; j <= c.layersPerBlock(); j++) rs.add(new ResnetBlock2D(b.pp("resnets").pp(j), j == 0 ? prev : out, out, 0, g, 1e-6));
            resnets.add(rs);
            upsamplers.add(i < n - 1 ? new Upsample2D(b.pp("upsamplers").pp(0), out) : null);
        }
        normOut = new GroupNorm(w.pp("conv_norm_out"), g, ch.get(0), 1e-6);
        convOut = new Conv2d(w.pp("conv_out"), ch.get(0), c.outChannels(), 3, 1, 1, true);
    }

    /** latents (B, latent, h, w) (already through post_quant_conv) → images (B, 3, h f, w f). */
    Tensor forward(Tensor z) {
        // 1. conv_in, 2. mid block
        // each block in a scope of its own, the previous activation freed (see VaeEncoder)
        Tensor h = Scope.chain(Scope.scoped(() -> convIn.forward(z)), z, mid::forward);
        // 3. up blocks
        for (int i = 0; i < resnets.size(); i++) {
            for (ResnetBlock2D r : resnets.get(i)) h = Scope.chain(h, z, in -> r.forward(in, null));
            Upsample2D u = upsamplers.get(i);
            if (u != null) h = Scope.chain(h, z, in -> u.forward(in, null));
        }
        // 4. norm, act, conv_out
        return Scope.chain(h, z, in -> convOut.forward(normOut.forward(in).silu()));
    }
}
