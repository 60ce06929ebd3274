package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.BundledModels;

/**
 * The built-in image models: small models of the real architectures, pretrained from scratch on
 * captioned procedural shapes by the project's own pretrainers ({@code org.lorascripts.demo}), so they
 * draw what a prompt such as "a red circle on a blue background" says. Each is an LDM single file in
 * fp16 with its diffusers configs as metadata; it ships in the jar (gzip-compressed) and is copied into
 * the cache, sha256-checked, on first use. {@link TinySd} and {@code TinySdxl} in the tests write the
 * random-weight models tests use.
 * <ul>
 *   <li>{@link #SD} {@code builtin:tiny-sd}: SD 1.x (CLIP text encoder of width 64, a 3-level UNet of
 *       3.7 M parameters, a VAE that turns 64×64 images into 4×16×16 latents).</li>
 *   <li>{@link #SDXL} {@code builtin:tiny-sdxl}: SDXL's layout (two text encoders of width 64, TE2 with
 *       its projection; a UNet whose first level has no attention, with the text_time added condition;
 *       tiny-sd's VAE) in sgm's single-file names.</li>
 * </ul>
 */
public enum TinySdBuiltin {
    SD("tiny-sd", "tiny-sd/tiny-sd.safetensors"),
    SDXL("tiny-sdxl", "tiny-sdxl/tiny-sdxl.safetensors");

    /** The native image size of both models (their training resolution). */
    public static final int RESOLUTION = 64;

    /** The name after {@code builtin:}. */
    public final String builtinName;
    final String resource;

    TinySdBuiltin(String builtinName, String resource) {
        this.builtinName = builtinName;
        this.resource = resource;
    }

    /** {@code tiny-sd} or {@code builtin:tiny-sd} (and the same for tiny-sdxl). */
    public static Optional<TinySdBuiltin> byName(String name) {
        String n = name.startsWith(BaseModel.BUILTIN_PREFIX) ? name.substring(BaseModel.BUILTIN_PREFIX.length()) : name;
        return Arrays.stream(values()).filter(m -> m.builtinName.equals(n)).findFirst();
    }

    /** "builtin:tiny-sd or builtin:tiny-sdxl", for messages. */
    public static String choices() {
        return Arrays.stream(values()).map(m -> BaseModel.BUILTIN_PREFIX + m.builtinName).collect(Collectors.joining(" or "));
    }

    /** The cached, verified checkpoint. */
    public Path ensureCached() throws IOException { return BundledModels.file(resource); }

    /** Identifies the weights for latent-cache keys: the recorded sha256. */
    public String identity() throws IOException { return "sha256=" + BundledModels.sha256Of(resource); }
}
