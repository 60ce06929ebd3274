package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.PngWriter;
import org.lorascripts.tensor.Rng;

/** Small image folders and configs for training the builtin tiny SD model on the CPU. */
final class SdTrainingFixture {
    static final long SEED = 321;
    static final int SIZE = 32;   // tiny VAE downscales by 2: 16x16 latents

    private SdTrainingFixture() {}

    /** {@code n} distinct SIZExSIZE images with .txt captions ("shape k, color c"). */
    static Path images(Path dir, int n) throws IOException {
        Files.createDirectories(dir);
        for (int k = 0; k < n; k++) writeImage(dir.resolve("img" + k + ".png"), k);
        for (int k = 0; k < n; k++) Files.writeString(dir.resolve("img" + k + ".txt"), "shape " + k + ", color " + (k % 3) + ", flat");
        return dir;
    }

    /** A deterministic pattern per variant: stripes and a gradient whose phase depends on it. */
    static void writeImage(Path file, int variant) throws IOException {
        byte[] px = new byte[SIZE * SIZE * 3];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int o = (y * SIZE + x) * 3;
                px[o] = (byte) (((x + variant * 5) / 4 % 2) * 200 + 20);
                px[o + 1] = (byte) (y * 8 + variant * 30);
                px[o + 2] = (byte) ((x * y + variant * 40) % 256);
            }
        }
        PngWriter.write(file, px, SIZE, SIZE, PngWriter.Channels.RGB);
    }

    /** Settings of a CPU run on {@code data}, writing to {@code out}. */
    static Map<String, Object> settings(Path data, Path out) {
        Map<String, Object> m = new HashMap<>();
        m.put("base_model", "builtin:tiny-sd");
        m.put("train_data_dir", data.toString());
        m.put("output_dir", out.toString());
        m.put("resolution", SIZE);
        m.put("enable_bucket", false);
        m.put("device", "cpu");
        m.put("seed", SEED);
        m.put("lora_rank", 4);
        m.put("lora_alpha", 4);
        m.put("learning_rate", 5e-3);
        m.put("batch_size", 4);
        m.put("epochs", 1);
        m.put("save_precision", "fp32");
        return m;
    }

    /** A task built as LoopTrainer builds it: torch seeded first, so the adapter initialisation is reproducible. */
    static SdLoraTask task(Map<String, Object> settings) {
        Rng.manualSeed(SEED);
        return new SdLoraTask(TrainConfig.of(settings), line -> {});
    }

    static int[] indices(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
