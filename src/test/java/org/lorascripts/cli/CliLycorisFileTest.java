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
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.lora.LycorisAdapter;
import org.lorascripts.lora.LycorisFiles;
import org.lorascripts.lora.LycorisNetwork;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Tensor;

/** LoHa / LoKr files through the commands: {@code ./lora info} describes them, {@code ./lora sample --lora} attaches them. */
class CliLycorisFileTest {
    @TempDir static Path shared;
    @TempDir Path dir;
    static Path loha, lokr;

    /** LoHa and LoKr files for tiny-sd's UNet (with LoCon on its 3x3 convolutions), tensors random so they change images. */
    @BeforeAll static void writeFiles() throws Exception {
        loha = shared.resolve("hada.safetensors");
        lokr = shared.resolve("kron.safetensors");
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32)) {
            for (LycorisAdapter.Algo algo : LycorisAdapter.Algo.values()) {
                try (LycorisNetwork net = LycorisNetwork.inject(p.unet().loraHosts(), SdLoraTargets.unet(true), new LoraSpec(4, 2, 0, 2, 1, false), algo,
                        LycorisNetwork.LokrOptions.DEFAULT, Device.CPU)) {
                    Rng.manualSeed(3);
                    try (var g = Autograd.noGrad()) {
                        for (LycorisAdapter a : net.adapters().values()) for (Tensor t : a.tensors().values()) t.normal_(0, 0.4);
                    }
                    LycorisFiles.write(algo == LycorisAdapter.Algo.LOHA ? loha : lokr, List.of(new LycorisFiles.Part("lora_unet", net)), DType.F16,
                            Map.of("ss_network_module", "lycoris.kohya"));
                }
            }
        }
    }

    @Test void infoShowsAlgoDimsAndModuleCounts() {
        CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "info", loha.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*lycoris   loha, \\d+ modules \\{lora_unet=\\d+\\}: \\{dim 2, alpha 1=\\d+, dim 4, alpha 2=\\d+\\}.*"), r.out());
        assertTrue(r.out().contains("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q") && r.out().contains("hada_w1_a [")
                && r.out().contains("loha dim 4, alpha 2,"), r.out());
        CliTrainCommandTest.Run k = CliTrainCommandTest.run(Main.newCommandLine(), "info", lokr.toString());
        assertEquals(0, k.code(), k.err());
        assertTrue(k.out().contains("lycoris   lokr, "), k.out());
        assertTrue(k.out().contains("lokr_w1 [") && k.out().contains("ss_network_module = lycoris.kohya"), k.out());
        assertFalse(k.out().contains("lora      0 modules"), "no empty plain-LoRA line: " + k.out());
    }

    @Test void sampleAttachesLohaAndLokrFiles() throws Exception {
        String[] common = {"--base", "builtin:tiny-sd", "--seed", "9", "--steps", "3", "--width", "32", "--prompt", "a cat"};
        assertEquals(0, SdSampleCommandTest.sample(concat(common, "--output", dir.resolve("plain").toString())).code());
        byte[] plain = Files.readAllBytes(dir.resolve("plain/00000-9.png"));
        for (Path f : List.of(loha, lokr)) {
            String name = f.getFileName().toString();
            CliTrainCommandTest.Run with = SdSampleCommandTest.sample(concat(common, "--lora", f + ":1", "--output", dir.resolve(name).toString()));
            assertEquals(0, with.code(), with.err());
            assertFalse(java.util.Arrays.equals(plain, Files.readAllBytes(dir.resolve(name).resolve("00000-9.png"))), name + " changes the image");
            CliTrainCommandTest.Run zero = SdSampleCommandTest.sample(concat(common, "--lora", f + ":0", "--output", dir.resolve(name + "0").toString()));
            assertEquals(0, zero.code(), zero.err());
            assertArrayEquals(plain, Files.readAllBytes(dir.resolve(name + "0").resolve("00000-9.png")), name + " at weight 0 is no LoRA");
        }
        CliTrainCommandTest.Run both = SdSampleCommandTest.sample(concat(common, "--lora", loha + ":1", "--lora", lokr + ":1",
                "--output", dir.resolve("both").toString()));
        assertEquals(0, both.code(), both.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
