package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;

/**
 * The README's main job as it is: ./lora train --config examples/quickstart.yaml trains the
 * pretrained builtin model, and its samples show the style arriving: the LoRA half of each sample
 * (right) is closer to the training images' colour statistics than the base half (left).
 */
class QuickstartTrainTest {
    @TempDir Path dir;

    /** Mean R, G, B, and 255 × the fractions of near-white and of dark pixels, over columns [x0, x0 + w). */
    static double[] colourStats(BufferedImage im, int x0, int w) {
        double[] f = new double[5];
        int n = 0;
        for (int y = 0; y < im.getHeight(); y++) {
            for (int x = x0; x < x0 + w; x++) {
                int rgb = im.getRGB(x, y), r = (rgb >> 16) & 255, g = (rgb >> 8) & 255, b = rgb & 255;
                f[0] += r;
                f[1] += g;
                f[2] += b;
                if (r > 200 && g > 200 && b > 200) f[3] += 255;
                if (r < 70 && g < 70 && b < 70) f[4] += 255;
                n++;
            }
        }
        for (int i = 0; i < f.length; i++) f[i] /= n;
        return f;
    }

    static double distance(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
        return s;
    }

    @Test void quickstartTrainsAndItsSamplesShowTheStyleArriving() throws Exception {
        Path out = dir.resolve("run");
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml",
                "--set", "output_dir=" + out);
        assertEquals(0, r.code(), r.err());
        Path lora = out.resolve("quickstart.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(lora)) {
            assertTrue(f.names().stream().allMatch(n -> n.startsWith("lora_unet_")), "UNet keys only");
            assertTrue(f.contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight"));
            assertTrue(f.contains("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"), "conv_rank in the quickstart adds LoCon");
            assertEquals("120", f.metadata().get("ss_steps"));
            assertEquals("quickstart", f.metadata().get("ss_output_name"));
        }
        List<String> samples;
        try (var files = Files.list(out.resolve("samples"))) {
            samples = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(List.of("step-120-sample_0.png", "step-120-sample_1.png", "step-40-sample_0.png", "step-40-sample_1.png",
                "step-80-sample_0.png", "step-80-sample_1.png"), samples);

        double[] train = new double[5];
        List<Path> images;
        try (var files = Files.list(Path.of("examples/quickstart_data"))) {
            images = files.filter(p -> p.toString().endsWith(".png")).toList();
        }
        for (Path p : images) {
            double[] f = colourStats(ImageIO.read(p.toFile()), 0, 64);
            for (int i = 0; i < 5; i++) train[i] += f[i] / images.size();
        }
        for (String s : List.of("step-120-sample_0.png", "step-120-sample_1.png")) {
            BufferedImage im = ImageIO.read(out.resolve("samples").resolve(s).toFile());
            assertEquals(128, im.getWidth(), "base and LoRA side by side");
            assertEquals(64, im.getHeight());
            double base = distance(colourStats(im, 0, 64), train), withLora = distance(colourStats(im, 64, 64), train);
            System.out.printf("%s: colour-statistics distance to the training images: base %.1f, LoRA %.1f%n", s, base, withLora);
            assertTrue(withLora < base * 0.6, s + ": the LoRA's half (" + withLora + ") must be much closer to the training style than the base's (" + base + ")");
        }
        try (var files = Files.list(out.resolve("logs"))) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents.")), "TensorBoard events file");
        }
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve("step-120")), "final checkpoint");
    }
}
