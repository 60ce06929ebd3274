package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;

/** The README's main job, shortened: ./lora train --config examples/quickstart.yaml trains the builtin model end to end. */
class QuickstartTrainTest {
    @TempDir Path dir;

    @Test void quickstartTrainsAndWritesLoraSamplesAndLogs() throws Exception {
        Path out = dir.resolve("run");
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml",
                "--set", "output_dir=" + out, "--set", "epochs=1", "--set", "sample_every_n_steps=2", "--set", "sample_steps=2");
        assertEquals(0, r.code(), r.err());
        Path lora = out.resolve("quickstart.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(lora)) {
            assertTrue(f.names().stream().allMatch(n -> n.startsWith("lora_unet_")), "UNet keys only");
            assertTrue(f.contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight"));
            assertTrue(f.contains("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"), "conv_rank in the quickstart adds LoCon");
            assertEquals("4", f.metadata().get("ss_steps"));
            assertEquals("1", f.metadata().get("ss_epoch"));
        }
        List<String> samples;
        try (var files = Files.list(out.resolve("samples"))) {
            samples = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("step-2-sample_0.png", "step-4-sample_0.png"), samples);
        try (var files = Files.list(out.resolve("logs"))) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents.")), "TensorBoard events file");
        }
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve("step-4")), "final checkpoint");
    }
}
