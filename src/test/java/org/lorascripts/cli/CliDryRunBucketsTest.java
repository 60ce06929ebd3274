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
    void anSdxlBaseUsesHalfToTwiceTheResolutionAndThePlanSaysSo(@TempDir Path dir) throws Exception {
        Path model = org.lorascripts.models.sd.load.TinySdxl.writeCompleteLdm(dir.resolve("tiny-sdxl.safetensors"),
                org.lorascripts.tensor.DType.F16);
        String data = Path.of("examples/quickstart_data").toAbsolutePath().toString();
        String common = "train_data_dir: " + data + "\nresolution: 64\ntrain_text_encoder: true\ntext_encoder_lr: [2e-5, 1e-5]\n";
        Path xl = Files.writeString(dir.resolve("xl.yaml"), "base_model: " + model + "\n" + common);
        String o = dryRun(xl, 0);
        assertTrue(o.contains("  bucket range           32-128 (SDXL default: resolution/2 to resolution*2)"), o);
        assertTrue(o.contains("  learning rates         unet 1e-4, TE1 2e-5, TE2 1e-5"), o);
        assertTrue(o.contains("  * text_encoder_lr              [2e-5, 1e-5]"), o);
        Path sd = Files.writeString(dir.resolve("sd.yaml"), "base_model: builtin:tiny-sd\n" + common);
        StringWriter err = new StringWriter();
        o = dryRun(sd, 0, err);
        assertTrue(o.contains("  bucket range           64-1024 (default)"), o);
        assertTrue(o.contains("  learning rates         unet 1e-4, text encoder 2e-5"), o);
        assertTrue(err.toString().contains("warning: " + sd + ":5: text_encoder_lr has 2 values but Stable Diffusion 1.x has one"
                + " text encoder; it trains at the first, 2e-5"), err.toString());
    }

    private static String dryRun(Path cfg, int exit) {
        return dryRun(cfg, exit, new StringWriter());
    }

    private static String dryRun(Path cfg, int exit, StringWriter err) {
        StringWriter out = new StringWriter();
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(exit, cl.execute("train", "--config", cfg.toString(), "--dry-run"), err.toString());
        return out.toString();
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
