package org.lorascripts.tasks.sd;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.models.sd.load.LdmUnetNames;
import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * kohya's key names for an SDXL LoRA, as sd-scripts' {@code sdxl_train_network.py} writes them and
 * AUTOMATIC1111 and ComfyUI read them. sd-scripts trains SDXL on the original (SGM) UNet, so its UNet
 * keys are {@code lora_unet_} + the LDM module name ({@code input_blocks.4.1.transformer_blocks.0.attn1.to_q}
 * → {@code lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q}); our UNet has diffusers names,
 * mapped by {@link LdmUnetNames}. Both text encoders are HF CLIP models there as here, so their keys are
 * {@code lora_te1_} / {@code lora_te2_} + the HF module name. The mapping lives here, not in the writer,
 * because the writer (package lora) may not know model layouts.
 */
public final class SdxlKohyaNames {
    private SdxlKohyaNames() {}

    /** A diffusers UNet module name → its LDM name (what kohya writes after {@code lora_unet_}), or null. */
    public static UnaryOperator<String> unet(UNetConfig config) {
        LdmUnetNames names = new LdmUnetNames(config);
        return names::toLdm;
    }

    /** The writer's parts of an SDXL LoRA; {@code te1} / {@code te2} may be null (text encoders not trained). */
    public static List<KohyaLoraWriter.Part> parts(UNetConfig config, LoraNetwork unet, LoraNetwork te1, LoraNetwork te2) {
        List<KohyaLoraWriter.Part> parts = new ArrayList<>();
        parts.add(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_UNET, unet, unet(config)));
        if (te1 != null) parts.add(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER1, te1));
        if (te2 != null) parts.add(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER2, te2));
        return parts;
    }

    /** The module-name mappings for reading an SDXL kohya file back ({@code KohyaLoraReader.attach}), by prefix. */
    public static Map<String, UnaryOperator<String>> kohyaModules(UNetConfig config) {
        return Map.of(KohyaLoraWriter.PREFIX_UNET, unet(config));
    }
}
