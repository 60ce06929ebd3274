package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.AdapterNetwork;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LycorisFiles;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.nn.LoraHost;

/**
 * A kohya LoRA file (or a LyCORIS LoHa / LoKr file in the same layout) attached (unmerged) to a pipeline's modules, whatever its family: {@code lora_unet_} on the
 * UNet (LDM numbering for SDXL, {@link SdxlKohyaNames}), {@code lora_te_} on SD 1.x/2.x's text encoder,
 * {@code lora_te1_} / {@code lora_te2_} on SDXL's two.
 */
public final class PipelineLoras {
    private PipelineLoras() {}

    /** The networks by kohya prefix, at multiplier 1; fails (attaching nothing) on a key no module has. */
    public static Map<String, LoraNetwork> load(Path file, SdPipeline pipeline) throws IOException {
        Hosts h = hosts(pipeline);
        return KohyaLoraReader.load(file, h.byPrefix(), h.naming(), 1.0, pipeline.device());
    }

    /**
     * Any kohya-layout file, plain LoRA or LyCORIS's LoHa / LoKr (made by us or by LyCORIS), by kohya prefix at
     * multiplier 1; fails (attaching nothing) on a key no module has.
     */
    public static Map<String, ? extends AdapterNetwork> loadAny(Path file, SdPipeline pipeline) throws IOException {
        if (!LycorisFiles.isLycoris(file)) return load(file, pipeline);
        Hosts h = hosts(pipeline);
        return LycorisFiles.load(file, h.byPrefix(), h.naming(), 1.0, pipeline.device());
    }

    private record Hosts(Map<String, Map<String, LoraHost>> byPrefix, Map<String, UnaryOperator<String>> naming) {}

    private static Hosts hosts(SdPipeline pipeline) {
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
        return new Hosts(hosts, naming);
    }
}
