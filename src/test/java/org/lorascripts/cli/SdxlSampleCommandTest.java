package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.models.sd.load.TinySdxl;
import org.lorascripts.tensor.DType;

/** {@code ./lora sample} on the tiny SDXL checkpoint, single file and diffusers folder. */
class SdxlSampleCommandTest {
    @TempDir static Path shared;
    @TempDir Path dir;
    static Path single, folder;

    @BeforeAll static void write() throws Exception {
        single = TinySdxl.writeCompleteLdm(shared.resolve("tiny-sdxl.safetensors"), DType.F16);
        folder = TinySdxl.writeCompleteDiffusers(shared.resolve("tiny-sdxl"));
    }

    static CliTrainCommandTest.Run sample(Path base, Path out, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("sample", "--base", base.toString(), "--prompt", "a lighthouse at dusk",
                "--seed", "4", "--steps", "2", "--width", "32", "--device", "cpu", "--output", out.toString()));
        args.addAll(List.of(more));
        return CliTrainCommandTest.run(Main.newCommandLine(), args.toArray(String[]::new));
    }

    @Test void writesAPngWithEverySampler() throws Exception {
        for (String sampler : List.of("ddim", "euler_a", "dpmpp_2m", "dpmpp_2m_karras")) {
            Path out = dir.resolve(sampler);
            CliTrainCommandTest.Run r = sample(single, out, "--sampler", sampler, "--negative", "blurry");
            assertEquals(0, r.code(), sampler + ": " + r.err());
            byte[] png = Files.readAllBytes(out.resolve("00000-4.png"));
            assertEquals((byte) 0x89, png[0], "a PNG signature");
            assertTrue(r.out().contains("00000-4.png (32x32, seed 4)"), r.out());
        }
    }

    @Test void theFolderDrawsTheSameImageAsAnFp32SingleFile() throws Exception {
        Path fp32 = TinySdxl.writeCompleteLdm(dir.resolve("fp32.safetensors"), DType.F32);
        assertEquals(0, sample(fp32, dir.resolve("a")).code());
        CliTrainCommandTest.Run b = sample(folder, dir.resolve("b"));
        assertEquals(0, b.code(), b.err());
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/00000-4.png")), Files.readAllBytes(dir.resolve("b/00000-4.png")));
    }

    @Test void clipSkipAndLorasAreRefusedWithAReason() throws Exception {
        CliTrainCommandTest.Run r = sample(single, dir.resolve("c"), "--clip-skip", "2");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--clip-skip 2: SDXL is conditioned on the penultimate layer"), r.err());
        Path lora = Files.writeString(dir.resolve("x.safetensors"), "");
        CliTrainCommandTest.Run l = sample(single, dir.resolve("d"), "--lora", lora.toString());
        assertTrue(l.err().contains("attaching LoRAs to SDXL is not supported yet"), l.err());
    }
}
