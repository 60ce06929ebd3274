package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.nn.LoraHost;

/**
 * A kohya LoRA file attached (unmerged) to a pipeline's modules, whatever its family: {@code lora_unet_} on the
 * UNet (LDM numbering for SDXL, {@link SdxlKohyaNames}), {@code lora_te_} on SD 1.x/2.x's text encoder,
 * {@code lora_te1_} / {@code lora_te2_} on SDXL's two.
 */
public final class PipelineLoras {
    private PipelineLoras() {}

    /** The networks by kohya prefix, at multiplier 1; fails (attaching nothing) on a key no module has. */
    public static Map<String, LoraNetwork> load(Path file, SdPipeline pipeline) throws IOException {
        Map<String, Map<String, LoraHost>> hosts = new LinkedHashMap<>();
        Map<String, UnaryOperator<String>> naming = Map.of();
        hosts.put(KohyaLoraWriter.PREFIX_UNET, pipeline.unet().loraHosts());
        if (pipeline.family() == SdFamily.SDXL) {
            hosts.put(KohyaLoraWriter.PREFIX_TEXT_ENCODER1, pipeline.textEncoder().loraHosts());
            hosts.put(KohyaLoraWriter.PREFIX_TEXT_ENCODER2, pipeline.textEncoder2().loraHosts());
            naming = SdxlKohyaNames.kohyaModules(pipeline.unet().config());
        } else {
            hosts.put(KohyaLoraWriter.PREFIX_TEXT_ENCODER, pipeline.textEncoder().loraHosts());
        }
        return KohyaLoraReader.load(file, hosts, naming, 1.0, pipeline.device());
    }
}
