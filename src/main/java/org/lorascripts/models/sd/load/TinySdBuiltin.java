package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import org.lorascripts.io.BundledModels;

/**
 * {@code builtin:tiny-sd}: a small SD 1.x model (CLIP text encoder of width 64, a 3-level UNet of
 * 3.7 M parameters, a VAE that turns 64×64 images into 4×16×16 latents) pretrained from scratch on
 * captioned procedural shapes by {@code org.lorascripts.demo.TinySdPretrainer}, so it draws what a
 * prompt such as "a red circle on a blue background" says. An LDM single file in fp16 with its
 * diffusers configs as metadata; it ships in the jar and is copied into the cache, sha256-checked,
 * on first use. {@link TinySd} writes the random-weight models tests use.
 */
public final class TinySdBuiltin {
    private TinySdBuiltin() {}

    static final String RESOURCE = "tiny-sd/tiny-sd.safetensors";

    /** The native image size of the model (its training resolution). */
    public static final int RESOLUTION = 64;

    /** The cached, verified checkpoint. */
    public static Path ensureCached() throws IOException { return BundledModels.file(RESOURCE); }

    /** Identifies the weights for latent-cache keys: the recorded sha256. */
    public static String identity() throws IOException { return "sha256=" + BundledModels.sha256Of(RESOURCE); }
}
