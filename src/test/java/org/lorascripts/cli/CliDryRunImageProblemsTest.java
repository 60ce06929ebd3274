package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;

/** The dry run names every image training will skip or crop hard, and counts only the ones that train. */
class CliDryRunImageProblemsTest {
    private record Run(int code, String out, String err) {}

    private static Run dryRun(Path cfg) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("train", "--config", cfg.toString(), "--dry-run");
        return new Run(code, out.toString(), err.toString());
    }

    private static void png(Path file, int w, int h) throws Exception {
        PngWriter.write(file, new byte[w * h * 3], w, h, PngWriter.Channels.RGB);
    }

    /** A JPEG cut in half: it used to decode with gray rows and train. */
    private static void truncatedJpeg(Path file) throws Exception {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, (x * y * 31) ^ (x << 8) ^ y);
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", jpeg);
        Files.write(file, Arrays.copyOf(jpeg.toByteArray(), jpeg.size() / 2));
    }

    /** 10 good images, a truncated JPEG, a 1x1 PNG, a 4000x10 strip and an 10:1 panorama; all captioned. */
    private static Path folder(Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        StringBuilder csv = new StringBuilder("file_name,text\n");
        for (int i = 0; i < 10; i++) {
            png(data.resolve("good" + i + ".png"), 64, 64);
            csv.append("good").append(i).append(".png,a square\n");
        }
        truncatedJpeg(data.resolve("cut.jpg"));
        png(data.resolve("one.png"), 1, 1);
        png(data.resolve("wide.png"), 4000, 10);
        png(data.resolve("pano.png"), 640, 64);
        csv.append("cut.jpg,x\none.png,x\nwide.png,x\npano.png,x\n");
        Files.writeString(data.resolve("metadata.csv"), csv);
        return data;
    }

    @Test
    void unreadableTooSmallAndHardCroppedImagesAreListedByName(@TempDir Path dir) throws Exception {
        folder(dir);
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: data
                resolution: 256
                min_bucket_reso: 128
                max_bucket_reso: 512
                batch_size: 1
                epochs: 1
                """);
        Run r = dryRun(cfg);
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        assertTrue(o.contains("images                 14\n"), o);
        assertTrue(o.contains("unreadable images      1, skipped: cut.jpg\n"), o);
        assertTrue(o.contains("too small images       2, skipped: one.png (1x1: enlarged 256x for its 256x256 bucket),"
                + " wide.png (4000x10: enlarged 12.8x and cropped to 1% for its 512x128 bucket)\n"), o);
        assertTrue(o.contains("cropped images         1: pano.png (640x64: cropped to 40% for its 512x128 bucket)\n"), o);
        assertTrue(o.contains("train examples         11 "), "10 good images and the cropped panorama train: " + o);
        assertTrue(r.err().contains(".yaml:2: 1 of 14 images cannot be read and are skipped: cut.jpg; first error: "
                + dir.resolve("data/cut.jpg") + ": corrupt or truncated image ("), r.err());
        assertTrue(r.err().contains(".yaml:2: 2 of 14 images are too small for their bucket and are skipped: one.png"), r.err());
        assertTrue(r.err().contains(".yaml:2: 1 of 14 images lose much of themselves to the crop into their bucket (the"
                + " buckets hold aspect ratios 1:4 to 4:1): pano.png"), r.err());
    }

    @Test
    void withoutBucketsTheImagesAreCheckedToo(@TempDir Path dir) throws Exception {
        folder(dir);
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: data
                resolution: 64
                enable_bucket: false
                """);
        Run r = dryRun(cfg);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("unreadable images      1, skipped: cut.jpg\n"), r.out());
        assertTrue(r.out().contains("too small images       1, skipped: one.png (1x1: enlarged 64x for its 64x64 bucket)\n"),
                r.out());
        // At 64 the strip is enlarged only 6.4x, so it trains as kohya would train it: cropped, and named.
        assertTrue(r.out().contains("cropped images         2: pano.png (640x64: cropped to 10% for its 64x64 bucket),"
                + " wide.png (4000x10: cropped to under 1% for its 64x64 bucket)\n"), r.out());
        assertTrue(r.err().contains("(enable_bucket is off: every image is cropped to 64x64): pano.png"), r.err());
    }

    @Test
    void tooManyUnreadableImagesSayTrainingWillStop(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        png(data.resolve("good.png"), 64, 64);
        truncatedJpeg(data.resolve("cut.jpg"));
        Files.writeString(data.resolve("metadata.csv"), "file_name,text\ngood.png,x\ncut.jpg,y\n");
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                base_model: builtin:tiny-sd
                train_data_dir: data
                resolution: 64
                enable_bucket: false
                """);
        Run r = dryRun(cfg);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("image check            failed: 1 of 2 images in '" + data + "' cannot be read"
                + " (at most 10% may be skipped): cut.jpg; first error: "), r.out());
        assertTrue(r.err().contains(".yaml:2: training will stop: 1 of 2 images"), r.err());
    }
}
