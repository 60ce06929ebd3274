package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * Writes an SD 1.x checkpoint in the LDM single-file layout that AUTOMATIC1111 WebUI, ComfyUI and
 * diffusers' {@code from_single_file} read: the UNet and VAE given by their diffusers names are
 * renamed with {@link LdmNames}, the VAE's attention projections become 1x1 convolutions as LDM
 * stores them, and the text encoder's tensors go under {@code textPrefix} verbatim. Written
 * atomically (temp file + rename).
 */
public final class LdmCheckpointWriter {
    private LdmCheckpointWriter() {}

    public static void write(Path file, UNetConfig uc, Map<String, Tensor> unet, VaeConfig vc, Map<String, Tensor> vae,
                             String textPrefix, Map<String, Tensor> text, Map<String, String> metadata, DType dtype) throws IOException {
        SafetensorsWriter out = new SafetensorsWriter();
        out.putMetadata(metadata);
        for (var e : unet.entrySet()) {
            String name = LdmNames.unet(e.getKey(), uc);
            if (name == null) throw new IllegalArgumentException("UNet tensor " + e.getKey() + " has no LDM name");
            TensorIO.add(out, LdmNames.UNET_PREFIX + name, e.getValue(), dtype);
        }
        for (var e : vae.entrySet()) {
            String name = LdmNames.vae(e.getKey(), vc);
            if (name == null) throw new IllegalArgumentException("VAE tensor " + e.getKey() + " has no LDM name");
            Tensor t = e.getValue();
            if (LdmNames.isVaeAttentionMatrix(e.getKey())) t = t.reshape(t.size(0), t.size(1), 1, 1);   // (out, in) → (out, in, 1, 1)
            TensorIO.add(out, LdmNames.VAE_PREFIX + name, t, dtype);
        }
        for (var e : text.entrySet()) TensorIO.add(out, textPrefix + e.getKey(), e.getValue(), dtype);
        out.write(file);
    }
}
