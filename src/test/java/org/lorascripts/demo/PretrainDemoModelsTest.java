package org.lorascripts.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;

/** The pretrainers run end to end at toy scale on the CPU and write models our own loaders open. */
class PretrainDemoModelsTest {
    @TempDir Path dir;

    @Test void imageModelPretrainsAndLoads() throws Exception {
        TinySdPretrainer.Options o = new TinySdPretrainer.Options(3, 24, 3, 4, 1e-3, 3, 4, 1e-3, 0.9, 0.1, 0.05, false, 0);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path file = TinySdPretrainer.run(o, Device.CPU, dir, new PrintStream(log, true, StandardCharsets.UTF_8), false);
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("vae: 3 steps") && text.contains("unet+text: 3 steps"), text);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.F16, f.info("model.diffusion_model.input_blocks.0.0.weight").dtype());
            assertTrue(f.metadata().get("lora_scripts_demo").contains("VAE 3 steps x 4"), f.metadata().toString());
        }
        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(file), null, Device.CPU, DType.F32)) {
            assertEquals(TinySdPretrainer.unetConfig().blockOutChannels(), p.unet().config().blockOutChannels());
            assertEquals(4, p.vaeDownscale());
        }
    }

    @Test void textModelPretrainsAndLoads() throws Exception {
        TinyLlamaPretrainer.Options o = new TinyLlamaPretrainer.Options(3, 300, 200, 300, 0.1, 32, 3, 4, 1e-3, false, 0);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path folder = TinyLlamaPretrainer.run(o, Device.CPU, dir, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("3 steps"), log.toString(StandardCharsets.UTF_8));
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertTrue(Files.isRegularFile(folder.resolve(f)), f);
        }
        try (LlamaForCausalLM m = LlamaForCausalLM.load(folder, Device.CPU, DType.F32)) {
            assertEquals(TinyLlamaPretrainer.LAYERS, m.config().numLayers());
        }
    }
}
