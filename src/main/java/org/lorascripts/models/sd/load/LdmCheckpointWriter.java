package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * Writes an SD 1.x or SDXL checkpoint in the LDM single-file layout that AUTOMATIC1111 WebUI, ComfyUI and
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
        addUnetAndVae(out, uc, unet, vc, vae, dtype);
        for (var e : text.entrySet()) TensorIO.add(out, textPrefix + e.getKey(), e.getValue(), dtype);
        out.write(file);
    }

    /**
     * An SDXL base single file as sgm saves it: the UNet and VAE as for SD, text encoder 1 (HF
     * CLIPTextModel names, {@code text_model.*}) under {@code conditioner.embedders.0.transformer.}, text
     * encoder 2 (HF CLIPTextModelWithProjection names) converted to OpenCLIP's layout under
     * {@code conditioner.embedders.1.model.}.
     */
    public static void writeSdxl(Path file, UNetConfig uc, Map<String, Tensor> unet, VaeConfig vc, Map<String, Tensor> vae,
                                 Map<String, Tensor> te1, Map<String, Tensor> te2, Map<String, String> metadata, DType dtype) throws IOException {
        SafetensorsWriter out = new SafetensorsWriter();
        out.putMetadata(metadata);
        addUnetAndVae(out, uc, unet, vc, vae, dtype);
        for (var e : te1.entrySet()) TensorIO.add(out, SdxlTextEncoder.TE1.ldmPrefix + e.getKey(), e.getValue(), dtype);
        for (var e : openClip(te2).entrySet()) TensorIO.add(out, SdxlTextEncoder.TE2.ldmPrefix + e.getKey(), e.getValue(), dtype);
        out.write(file);
    }

    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");

    /**
     * HF CLIP text names → OpenCLIP's (the inverse of diffusers' {@code convert_open_clip_checkpoint}):
     * q, k, v stacked into {@code attn.in_proj_*}, {@code text_projection} stored (width, projection) since
     * OpenCLIP multiplies by it rather than applying a Linear.
     */
    static Map<String, Tensor> openClip(Map<String, Tensor> hf) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        java.util.TreeSet<Integer> layers = new java.util.TreeSet<>();
        for (var e : hf.entrySet()) {
            String k = e.getKey().startsWith("text_model.") || e.getKey().equals("text_projection.weight") ? e.getKey() : "text_model." + e.getKey();
            Tensor v = e.getValue();
            Matcher l = LAYER.matcher(k);
            if (l.matches()) {
                layers.add(Integer.parseInt(l.group(1)));
                String r = "transformer.resblocks." + l.group(1) + ".", rest = l.group(2);
                if (rest.startsWith("self_attn.q_proj.") || rest.startsWith("self_attn.k_proj.") || rest.startsWith("self_attn.v_proj.")) continue;
                String to = rest.replace("layer_norm1.", "ln_1.").replace("layer_norm2.", "ln_2.").replace("self_attn.out_proj.", "attn.out_proj.")
                        .replace("mlp.fc1.", "mlp.c_fc.").replace("mlp.fc2.", "mlp.c_proj.");
                m.put(r + to, v);
                continue;
            }
            switch (k) {
                case "text_model.embeddings.token_embedding.weight" -> m.put("token_embedding.weight", v);
                case "text_model.embeddings.position_embedding.weight" -> m.put("positional_embedding", v);
                case "text_model.embeddings.position_ids" -> { }   // a buffer OpenCLIP does not have
                case "text_model.final_layer_norm.weight" -> m.put("ln_final.weight", v);
                case "text_model.final_layer_norm.bias" -> m.put("ln_final.bias", v);
                case "text_projection.weight" -> m.put("text_projection", v.transpose(0, 1).contiguous());
                default -> throw new IllegalArgumentException("text encoder 2 tensor " + e.getKey() + " has no OpenCLIP name");
            }
        }
        for (int i : layers) {
            for (String kind : List.of("weight", "bias")) {
                String l = "text_model.encoder.layers." + i + ".self_attn.";
                List<Tensor> qkv = new ArrayList<>();
                for (String p : List.of("q", "k", "v")) {
                    Tensor t = hf.containsKey(l + p + "_proj." + kind) ? hf.get(l + p + "_proj." + kind) : hf.get(l.substring("text_model.".length()) + p + "_proj." + kind);
                    if (t == null) throw new IllegalArgumentException("text encoder 2: missing " + l + p + "_proj." + kind + " (in_proj needs q, k and v)");
                    qkv.add(t);
                }
                m.put("transformer.resblocks." + i + ".attn.in_proj_" + kind, Torch.cat(qkv, 0));
            }
        }
        return m;
    }

    private static void addUnetAndVae(SafetensorsWriter out, UNetConfig uc, Map<String, Tensor> unet, VaeConfig vc, Map<String, Tensor> vae,
                                      DType dtype) throws IOException {
        LdmUnetNames names = new LdmUnetNames(uc);
        for (var e : unet.entrySet()) {
            String name = names.toLdm(e.getKey());
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
    }
}
