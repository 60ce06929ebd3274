package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;

/** The dry run of a kohya dataset (N_name subsets and reg_data_dir) shows the per-subset plan. */
class CliDryRunKohyaTest {
    private static void png(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        PngWriter.write(file, new byte[64 * 64 * 3], 64, 64, PngWriter.Channels.RGB);
    }

    @Test
    void thePlanShowsRepeatsRegMatchingAndSteps(@TempDir Path dir) throws Exception {
        for (int i = 0; i < 3; i++) png(dir.resolve("train/10_mystyle/s" + i + ".png"));
        Files.writeString(dir.resolve("train/10_mystyle/s0.txt"), "mystyle, red");
        Files.writeString(dir.resolve("train/10_mystyle/s1.txt"), "mystyle, blue");
        for (int i = 0; i < 2; i++) png(dir.resolve("train/2_other/o" + i + ".png"));
        png(dir.resolve("train/notes/x.png"));
        for (int i = 0; i < 4; i++) png(dir.resolve("reg/1_person/p" + i + ".png"));
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: train
                reg_data_dir: reg
                prior_loss_weight: 0.5
                resolution: 64
                enable_bucket: false
                batch_size: 4
                epochs: 1
                """);
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", cfg.toString(), "--dry-run");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("  kohya layout           N_name subsets of train_data_dir (N = repeats per epoch)\n"
                + "    10_mystyle           3 images x 10 repeats = 30\n"
                + "    2_other              2 images x 2 repeats = 4\n"
                + "    reg 1_person         4 images x 1 repeat = 4\n"
                + "  reg images per epoch   34 (matched to the 34 train images as kohya does: reg images repeated)\n"
                + "  images per epoch       68 (34 train + 34 reg, reg loss x prior_loss_weight 0.5)\n"), o);
        assertTrue(o.contains("from the subset's class tokens"), o);
        // 68 examples per epoch in batches of 4: 17 steps
        assertTrue(o.contains("  steps per epoch        17 = ceil(ceil(68 / 4) / 1)"), o);
        String all = o + r.err();
        assertTrue(all.contains("ignored folder 'notes' in train_data_dir"), all);
    }
}
