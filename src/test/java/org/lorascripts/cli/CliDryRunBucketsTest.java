package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;

/** The dry run shows the aspect-ratio buckets the run will use. */
class CliDryRunBucketsTest {
    @Test
    void bucketsAreListed(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        StringBuilder csv = new StringBuilder("file_name,text\n");
        for (int i = 0; i < 3; i++) {
            PngWriter.write(data.resolve("square" + i + ".png"), new byte[128 * 128 * 3], 128, 128, PngWriter.Channels.RGB);
            csv.append("square").append(i).append(".png,a square\n");
        }
        PngWriter.write(data.resolve("tall.png"), new byte[64 * 192 * 3], 64, 192, PngWriter.Channels.RGB);
        csv.append("tall.png,a tall image\n");
        Files.writeString(data.resolve("metadata.csv"), csv);
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: data
                resolution: 128
                min_bucket_reso: 64
                max_bucket_reso: 256
                batch_size: 2
                """);
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(0, cl.execute("train", "--config", cfg.toString(), "--dry-run"), err.toString());
        String o = out.toString();
        // 3 squares in 128x128 (2 batches of up to 2), the tall image alone in 64x192 (1 batch)
        assertTrue(o.contains("buckets                2, 3 batches of up to 2 per epoch"), o);
        assertTrue(o.contains("64x192, 1 image") && o.contains("128x128, 3 images"), o);
    }

    @Test
    void aResolutionBelowTheDefaultBucketRangeMovesItWithANote(@TempDir Path dir) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: %s
                resolution: 64
                """.formatted(Path.of("examples/quickstart_data").toAbsolutePath()));
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(0, cl.execute("train", "--config", cfg.toString(), "--dry-run"), err.toString());
        assertTrue(err.toString().contains("warning: " + cfg + ":3: min_bucket_reso 64 (instead of the default 256) so that buckets"
                + " hold resolution 64; set min_bucket_reso to choose another\n"), err.toString());
        assertTrue(out.toString().contains("  * min_bucket_reso              64   (default: 256)"), out.toString());
        assertTrue(out.toString().contains("64x64, 12 images"), out.toString());
    }
}
