package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.train.TrainingException;

/**
 * fp8_base on the tiny SD model: the UNet's block layers and the text encoder's linear layers hold fp8 weights (the
 * UNet's input and output convolutions do not),
 * the first loss stays near the 32-bit base's, the loss falls with linear and convolution LoRAs training over fp8
 * hosts, and the file written has the same modules; before libtorch 2.1 the run stops with one line saying why.
 */
class SdFp8BaseTest {
    @TempDir Path dir;

    @Test void trainsOverAnFp8UnetAndWritesTheSameModules() throws Exception {
        assumeTrue(DType.F8E4M3.available(), "this libtorch has no float8_e4m3fn");
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        double[] first = new double[2];
        Set<String>[] keys = new Set[2];
        for (int k = 0; k < 2; k++) {
            boolean fp8 = k == 1;
            Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out" + k));
            cfg.put("conv_rank", 8);
            cfg.put("fp8_base", fp8);
            try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
                Map<String, LoraHost> hosts = task.pipeline().unet().loraHosts();
                int quantized = 0;
                for (var e : hosts.entrySet()) {
                    boolean block = e.getKey().startsWith("down_blocks.") || e.getKey().startsWith("mid_block.") || e.getKey().startsWith("up_blocks.");
                    assertEquals(fp8 && block, e.getValue().quantized(), e.getKey());
                    if (e.getValue().quantized()) quantized++;
                }
                if (fp8) assertTrue(quantized > 20, quantized + " fp8 layers");
                // the text encoder's linear layers too, as kohya's fp8_base covers them
                Map<String, LoraHost> te = task.pipeline().textEncoder().loraHosts();
                assertTrue(!te.isEmpty());
                for (var e : te.entrySet()) assertEquals(fp8, e.getValue().quantized(), "text encoder " + e.getKey());
                first[k] = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
                if (fp8) {
                    SdLoraTrainingTest.train(task, 25, 5e-3);
                    double after = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
                    assertTrue(after < 0.85 * first[k], "loss " + first[k] + " -> " + after);
                }
                Path out = dir.resolve("lora" + k + ".safetensors");
                task.exportAdapter(out, Map.of());
                try (SafetensorsFile f = SafetensorsFile.open(out)) {
                    keys[k] = new TreeSet<>(f.names());
                }
            }
        }
        assertEquals(first[0], first[1], 0.05 * first[0], "the fp8 base's first loss is near the 32-bit base's");
        assertFalse(first[0] == first[1], "the fp8 base is a rounded one");
        assertEquals(keys[0], keys[1]);
    }

    /** A text-encoder LoRA over fp8 hosts: one step gives every adapter of both parts a gradient (non-zero for each up). */
    @Test void aTextEncoderLoraTrainsOverFp8Hosts() throws Exception {
        assumeTrue(DType.F8E4M3.available(), "this libtorch has no float8_e4m3fn");
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("fp8_base", true);
        cfg.put("train_text_encoder", true);
        try (SdLoraTask task = SdTrainingFixture.task(cfg); org.lorascripts.tensor.Scope s = org.lorascripts.tensor.Scope.open()) {
            assertTrue(task.pipeline().textEncoder().loraHosts().values().stream().allMatch(LoraHost::quantized));
            org.lorascripts.tensor.Tensor loss = task.lossSum(SdTrainingFixture.indices(task.trainSize()), false);
            loss.backward();
            assertTrue(Double.isFinite(loss.item()), "loss " + loss.item());
            int te = 0;
            for (org.lorascripts.nn.NamedParam q : task.trainableParameters()) {
                assertTrue(q.tensor().grad() != null, q.name() + " got a gradient");
                // up starts at zero (so down's first gradient is zero); up's own is not
                if (q.name().contains("lora_up")) assertTrue(q.tensor().grad().abs().sum().item() > 0, q.name() + " got a non-zero gradient");
                if (q.name().startsWith("te.")) te++;
            }
            assertTrue(te > 0, "text-encoder adapters train");
        }
    }

    @Test void withoutFloat8TheRunSaysWhatToDo() throws Exception {
        assumeTrue(!DType.F8E4M3.available(), "this libtorch has float8");
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("fp8_base", true);
        var e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(cfg).close());
        assertTrue(e.getMessage().startsWith("fp8_base: libtorch ") && e.getMessage().contains("use libtorch 2.1 or newer"), e.getMessage());
    }
}
