package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.io.PngWriter;

/** {@code ./lora train --config args.toml} and {@code ./lora import kohya} on kohya's TOML files (src/test/resources/kohya). */
class CliKohyaTomlTest {
    @TempDir Path dir;

    private Path fixture() throws Exception {
        for (String n : new String[] {"args.toml", "dataset.toml"}) {
            try (InputStream in = getClass().getResourceAsStream("/kohya/" + n)) {
                Files.copy(in, dir.resolve(n));
            }
        }
        for (String image : List.of("img/style/s0", "img/style/s1", "img/style/s2", "img/extra/e0", "img/extra/e1",
                "reg/person/p0", "reg/person/p1", "reg/person/p2", "reg/person/p3")) {
            Files.createDirectories(dir.resolve(image).getParent());
            PngWriter.write(dir.resolve(image + ".png"), new byte[64 * 64 * 3], 64, 64, PngWriter.Channels.RGB);
        }
        Files.writeString(dir.resolve("img/style/s0.txt"), "mystyle, red");
        Files.writeString(dir.resolve("img/extra/e0.txt"), "sks, cat");
        Files.writeString(dir.resolve("img/extra/e1.txt"), "sks, dog");
        return dir.resolve("args.toml");
    }

    @Test
    void theDryRunOfKohyasArgumentsShowsTheSubsetsAndTheKeysNotUsed() throws Exception {
        Path args = fixture();
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", args.toString(), "--dry-run");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("  subsets                3 (images x num_repeats per epoch)\n"
                + "    style                3 images x 10 repeats = 30\n"
                + "    extra                2 images x 3 repeats = 6\n"
                + "    reg person           4 images x 1 repeat = 4\n"
                + "  reg images per epoch   36 (matched to the 36 train images as kohya does: reg images repeated)\n"
                + "  images per epoch       72 (36 train + 36 reg, reg loss x prior_loss_weight 1.0)\n"), o);
        assertTrue(o.contains("captions               5 (0 from metadata.csv, 3 from .txt files, 2 from the subset's class tokens)"), o);
        // 72 examples in batches of 2 (one 64x64 bucket): 36 steps an epoch, 2 epochs
        assertTrue(o.contains("  steps per epoch        36 = ceil(ceil(72 / 2) / 1)"), o);
        assertTrue(o.contains("  total steps            72"), o);
        assertTrue(r.err().contains("warning: " + args + ": kohya keys not known here, not used: some_new_flag (" + args + ":"), r.err());
        assertTrue(r.err().contains("warning: " + args + ": kohya keys known but not implemented here, not used: color_aug ("), r.err());
    }

    @Test
    void importWritesTheYamlThatTrainsTheSame() throws Exception {
        Path args = fixture();
        Path out = dir.resolve("conf/style.yaml");
        Files.createDirectories(out.getParent());
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "import", "kohya", "--config", args.toString(), "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("wrote " + out + " (" + r.out().replaceAll("(?s).*\\((\\d+) keys\\).*", "$1") + " keys); check it with: ./lora train --config "
                + out + " --dry-run\n", r.out());
        assertTrue(r.err().contains("kohya keys not known here, not used: some_new_flag"), r.err());
        assertEquals(ConfigLoader.load(args, List.of()).config(), ConfigLoader.load(out, List.of()).config());
        // a second import does not overwrite it
        CliTrainCommandTest.Run again = CliTrainCommandTest.run(Main.newCommandLine(), "import", "kohya", "--config", args.toString(), "-o", out.toString());
        assertEquals(2, again.code());
        assertEquals("error: " + out + " exists; choose another -o file or add --force to replace it\n", again.err());
    }

    @Test
    void importPrintsTheYamlAndRefusesBadFilesWithTheirLine() throws Exception {
        Path args = fixture();
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "import", "kohya", "--dataset", dir.resolve("dataset.toml").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("    - image_dir: \"" + dir.resolve("img/style") + "\"\n"), r.out());
        assertTrue(r.err().contains("note: the kohya files name no base model: set base_model in the YAML"), r.err());
        Files.writeString(args, Files.readString(args).replace("network_dim = 8", "network_dim = 8.5"));
        Path out = dir.resolve("x.yaml");
        CliTrainCommandTest.Run bad = CliTrainCommandTest.run(Main.newCommandLine(), "import", "kohya", "--config", args.toString(), "-o", out.toString());
        assertEquals(2, bad.code());
        assertEquals("error: " + args + ":8: network_dim must be an integer in 1..1024, got '8.5'\n", bad.err());
        assertFalse(Files.exists(out));
    }
}
