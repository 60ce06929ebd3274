package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;

/** {@code ./lora resize} end to end: the report lines, the file (keys, dtype kept, metadata) and one-line errors. */
class CliResizeCommandTest {
    @TempDir Path dir;

    @Test
    void resizesAndReports() throws Exception {
        Rng.manualSeed(9);
        Path in = dir.resolve("in.safetensors"), out = dir.resolve("out.safetensors");
        try (Scope s = Scope.open()) {
            var m = new KohyaLoraReader.Module("lora_unet_x_to_q", Torch.randn(8, 16).keep(), Torch.randn(12, 8).keep(), 4, true);
            KohyaLoraWriter.writeModules(in, List.of(m), DType.BF16, Map.of("ss_network_dim", "8", "ss_network_alpha", "4.0"));
        }
        var r = CliTrainCommandTest.run(Main.newCommandLine(), "resize", "--lora", in.toString(), "--rank", "2", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("lora_unet_x_to_q") && r.out().contains("rank   8 ->   2  alpha 1 "), r.out());
        assertTrue(r.out().contains("resized 1 modules of " + in + ": average Frobenius norm kept"), r.out());
        assertTrue(r.out().endsWith("wrote " + out + " (bf16)\n"), r.out());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(DType.BF16, f.info("lora_unet_x_to_q.lora_down.weight").dtype());
            assertEquals("2", f.metadata().get("ss_network_dim"));
            assertEquals("1.0", f.metadata().get("ss_network_alpha"));
            assertTrue(f.metadata().get("ss_training_comment").startsWith("dimension is resized from 8 to 2; "));
        }
        var again = CliTrainCommandTest.run(Main.newCommandLine(), "resize", "--lora", in.toString(), "--rank", "2", "-o", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().startsWith("error: --output " + out + " already exists"), again.err());
        var noParam = CliTrainCommandTest.run(Main.newCommandLine(), "resize", "--lora", in.toString(), "--rank", "2",
                "--dynamic-method", "sv_fro", "-o", dir.resolve("d.safetensors").toString());
        assertEquals(2, noParam.code());
        assertEquals("error: --dynamic-method sv_fro needs --dynamic-param above 0\n", noParam.err());
        var badMethod = CliTrainCommandTest.run(Main.newCommandLine(), "resize", "--lora", in.toString(), "--rank", "2",
                "--dynamic-method", "svd", "--dynamic-param", "0.5", "-o", dir.resolve("d.safetensors").toString());
        assertEquals("error: unknown dynamic method 'svd'; use sv_ratio, sv_fro or sv_cumulative\n", badMethod.err());
    }
}
