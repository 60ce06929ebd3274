package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import picocli.CommandLine;

class CliInfoCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void kohyaLoraShowsRankAndAlphaPerModule(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("style.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            String m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
            t.put(m + ".lora_down.weight", Torch.zeros(new long[] {4, 320}, DType.F16, Device.CPU));
            t.put(m + ".lora_up.weight", Torch.zeros(new long[] {320, 4}, DType.F16, Device.CPU));
            t.put(m + ".alpha", Torch.full(new long[0], 2, DType.F16, Device.CPU));
            TensorIO.save(f, t, Map.of("ss_network_dim", "4", "ss_network_alpha", "2"));
        }
        Run r = run("info", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("lora      1 modules: {rank 4, alpha 2=1}"), r.out());
        assertTrue(r.out().contains(" rank 4, alpha 2, down [4, 320] up [320, 4]"), r.out());
        assertTrue(r.out().contains("ss_network_dim = 4"), r.out());
    }

    @Test
    void doraFileShowsItsMagnitudeVectors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("dora.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            String m = "lora_unet_down_blocks_0_attentions_0_proj_in";
            t.put(m + ".lora_down.weight", Torch.zeros(new long[] {4, 320, 1, 1}, DType.F16, Device.CPU));
            t.put(m + ".lora_up.weight", Torch.zeros(new long[] {320, 4, 1, 1}, DType.F16, Device.CPU));
            t.put(m + ".alpha", Torch.full(new long[0], 4, DType.F16, Device.CPU));
            t.put(m + ".dora_scale", Torch.ones(new long[] {1, 320, 1, 1}, DType.F16, Device.CPU));
            TensorIO.save(f, t, Map.of("ss_network_args", "{\"dora_wd\": \"True\"}"));
        }
        Run r = run("info", f.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("lora      1 modules (DoRA: 1 with a magnitude vector): {rank 4, alpha 4=1}"), r.out());
        assertTrue(r.out().contains("up [320, 4, 1, 1] magnitude [1, 320, 1, 1]"), r.out());
    }

    @Test
    void checkpointsNameTheirModel(@TempDir Path dir) throws Exception {
        Path xl = org.lorascripts.models.sd.load.TinySdxl.writeCompleteLdm(dir.resolve("xl.safetensors"), DType.F16);
        Run r = run("info", xl.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("model     Stable Diffusion XL\n"), r.out());
        Path flux = dir.resolve("flux.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(flux, Map.of("double_blocks.0.img_attn.qkv.weight", Torch.zeros(new long[] {4, 4}, DType.F16, Device.CPU)), Map.of());
        }
        r = run("info", flux.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("model     looks like Flux (found double_blocks.*); Flux LoRA training is not supported yet"), r.out());
    }

    @Test
    void peftFolderIsFound(@TempDir Path dir) throws Exception {
        try (Scope s = Scope.open()) {
            TensorIO.save(dir.resolve("adapter_model.safetensors"), Map.of(
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Torch.zeros(8, 64),
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Torch.zeros(64, 8)), Map.of());
        }
        Run r = run("info", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("base_model.model.model.layers.0.self_attn.q_proj") && r.out().contains("rank 8"), r.out());
    }

    @Test
    void picklesAreRefused(@TempDir Path dir) throws Exception {
        Path ckpt = Files.writeString(dir.resolve("model.ckpt"), "not really");
        Run r = run("info", ckpt.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + ckpt + ": .ckpt files are Python pickles") && r.err().contains("Convert it to .safetensors"), r.err());
        assertTrue(!r.err().contains("at org."), "no stack trace");
    }

    @Test
    void malformedFileIsOneErrorLineWithExitCode2(@TempDir Path dir) throws Exception {
        // Header length field of 2^60: what a zero-padded or foreign file often looks like.
        Path f = dir.resolve("broken.safetensors");
        Files.write(f, new byte[] {0, 0, 0, 0, 0, 0, 0, 0x10, '{', '}'});
        Run r = run("info", f.toString());
        assertEquals(2, r.code(), r.err());
        assertEquals("error: " + f + ": header length 1152921504606846976 bytes exceeds the 100000000-byte limit;"
                + " the file is corrupt or not a safetensors file\n", r.err());
        assertEquals("", r.out());
    }
}
