package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;

/**
 * Without output_name the LoRA is named after output_dir's folder, as users write
 * {@code <lora:my_style_lora:0.8>} for {@code output_dir: ./output/my_style_lora}: the file, its
 * kohya metadata and ./lora info agree.
 */
class OutputNameDefaultTest {
    @TempDir Path dir;

    @Test void oneStepRunNamesTheLoraAfterOutputDir() throws Exception {
        Path data = Path.of("examples/quickstart_data").toAbsolutePath();
        Path config = Files.writeString(dir.resolve("my_style.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: %s
                resolution: 64
                enable_bucket: false
                lora_rank: 2
                batch_size: 2
                max_steps: 1
                device: cpu
                output_dir: ./output/my_style_lora
                """.formatted(data));
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", config.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("(output_name my_style_lora)"), "the plan names it: " + r.out());

        Path lora = dir.resolve("output/my_style_lora/my_style_lora.safetensors");
        assertTrue(Files.exists(lora), "LoRA file named after the folder");
        try (SafetensorsFile f = SafetensorsFile.open(lora)) {
            assertEquals("my_style_lora", f.metadata().get("ss_output_name"));
        }
        CliTrainCommandTest.Run info = CliTrainCommandTest.run(Main.newCommandLine(), "info", lora.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("  ss_output_name = my_style_lora\n"), info.out());
    }
}
