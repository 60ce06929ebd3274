package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;

/** The mixed-precision paths, which need a CUDA device; skipped elsewhere. */
class TrainingLoopCudaTest {
    @TempDir Path dir;

    private static ToyLoraTask cudaTask(int train, int val, double dropout) {
        Rng.manualSeed(LoopFixture.SEED);
        return new ToyLoraTask(train, val, dropout, Device.cuda(0));
    }

    private LoopFixture fixture(String name, String precision) {
        return new LoopFixture(dir.resolve(name)).set("device", "cuda").set("mixed_precision", precision).set("epochs", 6);
    }

    private TrainingResult run(LoopFixture f, ToyLoraTask task, Resume resume) throws Exception {
        return new TrainingLoop(f.config(), task, Device.cuda(0), f.options(resume)).run();
    }

    @Test void fp16AndBf16TrainAndLogTheirScalars() throws Exception {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        for (String precision : List.of("fp16", "bf16")) {
            LoopFixture f = fixture(precision, precision);
            try (ToyLoraTask task = cudaTask(10, 4, 0.1)) {
                assertEquals(30, run(f, task, new Resume.None()).steps());
            }
            double[] l = f.losses();
            assertTrue(l[29] < l[0], precision + ": loss should fall, " + l[0] + " -> " + l[29]);
            List<String> lines = Files.readAllLines(dir.resolve(precision + "/logs/metrics.jsonl"));
            assertTrue(lines.stream().anyMatch(s -> s.contains("\"perf/device_memory_gib\"")), precision);
            assertEquals(precision.equals("fp16"), lines.stream().anyMatch(s -> s.contains("\"train/loss_scale\"")), precision);
        }
    }

    @Test void fp16ResumeContinuesExactly() throws Exception {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        LoopFixture whole = fixture("whole", "fp16");
        try (ToyLoraTask task = cudaTask(10, 0, 0.3)) {
            run(whole, task, new Resume.None());
        }
        LoopFixture split = fixture("split", "fp16");
        split.stopAtStep = 12;
        try (ToyLoraTask task = cudaTask(10, 0, 0.3)) {
            assertTrue(run(split, task, new Resume.None()).interrupted());
        }
        try (ToyLoraTask task = cudaTask(10, 0, 0.3)) {
            run(split, task, new Resume.Latest());
        }
        double[] a = whole.losses(), b = split.losses();
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-6, "loss of step " + (i + 1));
    }
}
