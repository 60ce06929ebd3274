package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.tasks.sd.SdxlKohyaNames;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;
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

    @Test void clipSkipIsRefusedWithAReason() throws Exception {
        CliTrainCommandTest.Run r = sample(single, dir.resolve("c"), "--clip-skip", "2");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--clip-skip 2: SDXL is conditioned on the penultimate layer"), r.err());
    }

    /**
     * A kohya SDXL LoRA (UNet in LDM names, lora_te1_, lora_te2_) attaches: with it the image changes, at weight
     * 0 it is the base's; its text-encoder part alone (<lora:NAME:1:0>) changes the image too; an SD 1.x LoRA is
     * refused naming its keys.
     */
    @Test void attachesKohyaSdxlLorasToTheUNetAndBothTextEncoders() throws Exception {
        Path lora = dir.resolve("style.safetensors");
        try (Scope s = Scope.open(); SdPipeline p = SdPipeline.open(new BaseModel.Local(single), null, Device.CPU, DType.F32)) {
            LoraSpec spec = new LoraSpec(4, 4, 0, 0, 1, false);
            try (LoraNetwork u = LoraNetwork.inject(p.unet().loraHosts(), SdLoraTargets.unet(false), spec, Device.CPU);
                 LoraNetwork t1 = LoraNetwork.inject(p.textEncoder().loraHosts(), n -> true, spec, Device.CPU);
                 LoraNetwork t2 = LoraNetwork.inject(p.textEncoder2().loraHosts(), n -> true, spec, Device.CPU)) {
                Rng.manualSeed(5);
                try (var ng = Autograd.noGrad()) {
                    for (LoraNetwork n : List.of(u, t1, t2)) {
                        for (LoraAdapter a : n.adapters().values()) a.up().copy_(Torch.randn(a.up().shape(), DType.F32, Device.CPU).mul(0.5));
                    }
                }
                KohyaLoraWriter.write(lora, SdxlKohyaNames.parts(p.unet().config(), u, t1, t2), DType.F16, Map.of("ss_network_module", "networks.lora"));
            }
        }
        assertEquals(0, sample(single, dir.resolve("base")).code());
        CliTrainCommandTest.Run with = sample(single, dir.resolve("with"), "--lora", lora.toString());
        assertEquals(0, with.code(), with.err());
        CliTrainCommandTest.Run zero = sample(single, dir.resolve("zero"), "--lora", lora + ":0");
        assertEquals(0, zero.code(), zero.err());
        CliTrainCommandTest.Run teOnly = CliTrainCommandTest.run(Main.newCommandLine(), "sample", "--base", single.toString(),
                "--prompt", "a lighthouse at dusk <lora:style:1:0>", "--lora-dir", dir.toString(), "--seed", "4", "--steps", "2", "--width", "32",
                "--device", "cpu", "--output", dir.resolve("te").toString());
        assertEquals(0, teOnly.code(), teOnly.err());
        byte[] base = Files.readAllBytes(dir.resolve("base/00000-4.png"));
        assertFalse(java.util.Arrays.equals(base, Files.readAllBytes(dir.resolve("with/00000-4.png"))), "the LoRA changes the image");
        assertArrayEquals(base, Files.readAllBytes(dir.resolve("zero/00000-4.png")), "weight 0 draws the base's image");
        assertFalse(java.util.Arrays.equals(base, Files.readAllBytes(dir.resolve("te/00000-4.png"))), "lora_te1_ / lora_te2_ act through the text encoders");

        Path sd1 = dir.resolve("sd1.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(sd1, Map.of("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", Torch.zeros(4, 32),
                    "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", Torch.zeros(32, 4)), Map.of());
        }
        CliTrainCommandTest.Run wrong = sample(single, dir.resolve("wrong"), "--lora", sd1.toString());
        assertEquals(2, wrong.code(), wrong.err());
        assertTrue(wrong.err().contains("lora_unet_down_blocks_0_attentions_0_proj_in") && wrong.err().contains("Is the LoRA for another base model?"), wrong.err());
    }
}
