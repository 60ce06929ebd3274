package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Torch;

/** {@code ./lora sample} on the builtin tiny model. */
class SdSampleCommandTest {
    @TempDir static Path shared;
    @TempDir Path dir;
    static Path loraDir;

    /** A kohya LoRA for tiny-sd with random (non-zero) up weights, so it changes the output. */
    @BeforeAll static void writeLora() throws Exception {
        loraDir = shared.resolve("loras");
        Files.createDirectories(loraDir);
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32);
             LoraNetwork net = LoraNetwork.inject(p.unet().loraHosts(), SdLoraTargets.unet(false), LoraSpec.of(4, 4), Device.CPU)) {
            Rng.manualSeed(3);
            try (var g = Autograd.noGrad()) {
                for (LoraAdapter a : net.adapters().values()) a.up().copy_(Torch.randn(a.up().shape()).mul(0.5));
            }
            KohyaLoraWriter.write(loraDir.resolve("shapes.safetensors"), List.of(new KohyaLoraWriter.Part("lora_unet", net)), DType.F16, Map.of());
        }
    }

    static CliTrainCommandTest.Run sample(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "sample";
        System.arraycopy(args, 0, all, 1, args.length);
        return CliTrainCommandTest.run(Main.newCommandLine(), all);
    }

    @Test void writesNImagesAndTheSameSeedGivesTheSameBytes() throws Exception {
        String[] common = {"--base", "builtin:tiny-sd", "--prompt", "a red circle", "--num", "3", "--seed", "5", "--steps", "3", "--width", "32"};
        CliTrainCommandTest.Run a = sample(concat(common, "--output", dir.resolve("a").toString()));
        assertEquals(0, a.code(), a.err());
        for (String name : List.of("00000-5.png", "00001-6.png", "00002-7.png")) {
            byte[] png = Files.readAllBytes(dir.resolve("a").resolve(name));
            assertEquals((byte) 0x89, png[0], "a PNG signature");
        }
        try (var files = Files.list(dir.resolve("a"))) {
            assertEquals(3, files.count(), "no temp files are left");
        }
        assertTrue(a.out().contains("00002-7.png (32x32, seed 7)"), a.out());
        CliTrainCommandTest.Run b = sample(concat(common, "--output", dir.resolve("b").toString()));
        assertEquals(0, b.code(), b.err());
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/00001-6.png")), Files.readAllBytes(dir.resolve("b/00001-6.png")));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("a/00000-5.png")), Files.readAllBytes(dir.resolve("a/00001-6.png"))),
                "another seed gives another image");
    }

    @Test void aLoraTagInThePromptChangesTheImage() throws Exception {
        String[] common = {"--base", "builtin:tiny-sd", "--seed", "9", "--steps", "3", "--width", "32", "--lora-dir", loraDir.toString()};
        assertEquals(0, sample(concat(common, "--prompt", "a cat", "--output", dir.resolve("plain").toString())).code());
        CliTrainCommandTest.Run tagged = sample(concat(common, "--prompt", "a cat <lora:shapes:1>", "--output", dir.resolve("tagged").toString()));
        assertEquals(0, tagged.code(), tagged.err());
        CliTrainCommandTest.Run flag = sample(concat(common, "--prompt", "a cat", "--lora", loraDir.resolve("shapes.safetensors") + ":1",
                "--output", dir.resolve("flag").toString(), "--sampler", "ddim"));
        assertEquals(0, flag.code(), flag.err());
        byte[] plain = Files.readAllBytes(dir.resolve("plain/00000-9.png"));
        byte[] withTag = Files.readAllBytes(dir.resolve("tagged/00000-9.png"));
        assertFalse(java.util.Arrays.equals(plain, withTag), "the LoRA changes the image");
        assertArrayEquals(withTag, Files.readAllBytes(dir.resolve("flag/00000-9.png")), "a tag and --lora FILE:1 are the same LoRA");
        CliTrainCommandTest.Run zero = sample(concat(common, "--prompt", "a cat <lora:shapes:0>", "--output", dir.resolve("zero").toString()));
        assertEquals(0, zero.code(), zero.err());
        assertArrayEquals(plain, Files.readAllBytes(dir.resolve("zero/00000-9.png")), "weight 0 is no LoRA");
    }

    @Test void everySamplerNameIsAccepted() throws Exception {
        String[] common = {"--base", "builtin:tiny-sd", "--seed", "4", "--steps", "4", "--width", "32", "--prompt", "a cat"};
        for (String name : List.of("ddim", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "DPMPP-2M-Karras")) {
            CliTrainCommandTest.Run r = sample(concat(common, "--sampler", name, "--output", dir.resolve("s-" + name).toString()));
            assertEquals(0, r.code(), name + ": " + r.err());
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("s-dpmpp_2m/00000-4.png")),
                Files.readAllBytes(dir.resolve("s-dpmpp_2m_karras/00000-4.png"))), "Karras sigmas are another schedule");
        assertArrayEquals(Files.readAllBytes(dir.resolve("s-dpmpp_2m_karras/00000-4.png")),
                Files.readAllBytes(dir.resolve("s-DPMPP-2M-Karras/00000-4.png")), "names are case-insensitive, - or _");
        CliTrainCommandTest.Run bad = sample(concat(common, "--sampler", "dpm2"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("use ddim, euler_a, dpmpp_2m or dpmpp_2m_karras"), bad.err());
    }

    @Test void clearErrors() throws Exception {
        CliTrainCommandTest.Run missing = sample("--base", "builtin:tiny-sd", "--prompt", "x", "--lora", dir.resolve("nope.safetensors").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().startsWith("error: --lora " + dir.resolve("nope.safetensors") + ": no such file"), missing.err());

        CliTrainCommandTest.Run tag = sample("--base", "builtin:tiny-sd", "--prompt", "x <lora:other:0.5>", "--lora-dir", loraDir.toString());
        assertEquals(2, tag.code());
        assertTrue(tag.err().contains("available in " + loraDir + ": shapes"), tag.err());

        Path pickle = dir.resolve("old.ckpt");
        Files.write(pickle, new byte[] {1, 2, 3});
        CliTrainCommandTest.Run p = sample("--base", "builtin:tiny-sd", "--prompt", "x", "--lora", pickle.toString());
        assertEquals(2, p.code());
        assertTrue(p.err().contains(".ckpt files are Python pickles"), p.err());

        Path foreign = dir.resolve("sdxl_lora.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        TensorIO.add(w, "lora_unet_input_blocks_4_1_proj_in.lora_down.weight", Torch.zeros(4, 320), DType.F16);
        TensorIO.add(w, "lora_unet_input_blocks_4_1_proj_in.lora_up.weight", Torch.zeros(320, 4), DType.F16);
        w.write(foreign);
        CliTrainCommandTest.Run arch = sample("--base", "builtin:tiny-sd", "--prompt", "x", "--lora", foreign.toString(), "--output", dir.toString());
        assertEquals(2, arch.code());
        assertTrue(arch.err().contains("match no module of the model") && arch.err().contains("another base model"), arch.err());
        assertEquals(1, arch.err().lines().count(), "one line: " + arch.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
