package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.tensor.DType;

/**
 * The dry run fails (exit 2, one error line each, naming the config line of the key) when the model
 * inputs cannot work: a missing or pickled base model, target_modules that match no layer, a
 * network_weights that is missing or does not fit. It reads headers only, so no libtorch is needed.
 */
class CliDryRunModelChecksTest {
    @TempDir Path dir;

    private static final Path QUICKSTART_TEXT = Path.of("examples/quickstart_text/domain.txt").toAbsolutePath();

    private static CliTrainCommandTest.Run dryRun(Path cfg, String... sets) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--config", cfg.toString(), "--dry-run"));
        for (String s : sets) args.addAll(List.of("--set", s));
        return CliTrainCommandTest.run(Main.newCommandLine(), args.toArray(String[]::new));
    }

    private Path textConfig(String extra) throws Exception {
        return Files.writeString(dir.resolve("c.yaml"), "task_type: text-generation\nbase_model: builtin:tiny-llama\ntrain_data_dir: "
                + QUICKSTART_TEXT + "\n" + extra);
    }

    private static void assertFails(CliTrainCommandTest.Run r, String errorLine) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().endsWith("error: " + errorLine + "\n"), r.err());
        assertFalse(r.out().contains("dry run: the config is valid"), r.out());
        assertFalse(r.err().contains("\tat "), "no stack trace");
    }

    @Test void targetModulesThatMatchNoLayerFailTheDryRun() throws Exception {
        Path cfg = textConfig("target_modules: [qkv_proj, dense]\n");
        assertFails(dryRun(cfg), cfg + ":4: target_modules [qkv_proj, dense] match no linear layer of builtin:tiny-llama; its layers are"
                + " [down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj] (or use all-linear)");
    }

    @Test void aTargetThatMatchesNothingBesideOthersThatDoIsAWarning() throws Exception {
        Path cfg = textConfig("target_modules: [q_proj, qkv_proj]\n");
        CliTrainCommandTest.Run r = dryRun(cfg);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: " + cfg + ":4: target_modules 'qkv_proj' matches no linear layer of builtin:tiny-llama"
                + " and is ignored; its layers are [down_proj,"), r.err());
        assertEquals(0, dryRun(textConfig("target_modules: all-linear\n")).code());
        assertEquals(0, dryRun(textConfig("target_modules: [q_proj, v_proj, lm_head]\n")).code());
    }

    @Test void aPickleBaseModelIsRefusedByName() throws Exception {
        for (String ext : List.of(".ckpt", ".pt", ".pth", ".bin")) {
            Path model = Files.write(dir.resolve("model" + ext), new byte[] {(byte) 0x80, 2});
            Path cfg = Files.writeString(dir.resolve("c.yaml"), "base_model: model" + ext + "\ntrain_data_dir: data\n");
            CliTrainCommandTest.Run r = dryRun(cfg);
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().startsWith("error: " + cfg + ":1: base_model " + model + " is a Python pickle (" + ext + "), which"
                    + " lora-scripts never loads (unpickling can run code); convert it to .safetensors once"), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }

    @Test void aTextModelFolderWithOnlyPickleWeightsIsRefused() throws Exception {
        Path model = Files.createDirectories(dir.resolve("llm"));
        Files.writeString(model.resolve("config.json"), "{}");
        Files.write(model.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "task_type: text-generation\nbase_model: llm\ntrain_data_dir: " + QUICKSTART_TEXT + "\n");
        assertFails(dryRun(cfg), cfg + ":2: base_model " + model + " has no model.safetensors (or model.safetensors.index.json), only pickle"
                + " weights (pytorch_model.bin), which lora-scripts never loads (unpickling can run code); convert it once:"
                + " AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
    }

    @Test void missingNetworkWeightsFailTheDryRun() {
        Path nope = dir.resolve("nope.safetensors");
        assertFails(dryRun(Path.of("examples/quickstart.yaml"), "network_weights=" + nope),
                "--set network_weights=" + nope + ": network_weights " + nope + " does not exist");
    }

    @Test void allModelProblemsAreReportedTogether() throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "base_model: sd.safetensors\ntrain_data_dir: "
                + Path.of("examples/quickstart_data").toAbsolutePath() + "\nresolution: 64\nnetwork_weights: old.safetensors\n");
        CliTrainCommandTest.Run r = dryRun(cfg);
        assertEquals(2, r.code(), r.err());
        List<String> errors = r.err().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(List.of("error: " + cfg + ":1: base_model " + dir.resolve("sd.safetensors") + " does not exist; download the model"
                        + " there or fix the path",
                "error: " + cfg + ":4: network_weights " + dir.resolve("old.safetensors") + " does not exist"), errors);
    }

    @Test void aKohyaLoraOfAnotherRankOrWithTextEncoderPartsFails() throws Exception {
        Path lora = dir.resolve("old.safetensors");
        new SafetensorsWriter()
                .add("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", DType.F32, new long[] {4, 32}, new byte[4 * 32 * 4])
                .add("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", DType.F32, new long[] {32, 4}, new byte[32 * 4 * 4])
                .add("lora_unet_down_blocks_0_attentions_0_proj_in.alpha", DType.F32, new long[] {}, floatBytes(2f))
                .add("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", DType.F16, new long[] {8, 32}, new byte[8 * 32 * 2])
                .add("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", DType.F16, new long[] {64, 8}, new byte[64 * 8 * 2])
                .write(lora);
        CliTrainCommandTest.Run r = dryRun(Path.of("examples/quickstart.yaml"), "network_weights=" + lora);
        assertEquals(2, r.code(), r.err());
        String at = "error: --set network_weights=" + lora + ": network_weights " + lora;
        assertEquals(List.of(at + " has 1 text-encoder modules (e.g. lora_te_text_model_encoder_layers_0_mlp_fc1); set train_text_encoder:"
                        + " true to continue them",
                at + ": module lora_unet_down_blocks_0_attentions_0_proj_in has rank 4 and alpha 2, but this config trains rank 8 and"
                        + " alpha 16; set lora_rank: 4 and lora_alpha: 2"),
                r.err().lines().filter(l -> l.startsWith("error: ")).toList());
    }

    @Test void aPeftAdapterForAnotherModelFails() throws Exception {
        Path adapter = peftAdapter("other", "model.layers.0.self_attn.q_proj", 256);
        Path cfg = textConfig("");
        assertFails(dryRun(cfg, "network_weights=" + adapter), "--set network_weights=" + adapter + ": network_weights " + adapter
                + ": the weights for 'model.layers.0.self_attn.q_proj' (lora_A [8, 256]) do not fit builtin:tiny-llama's weight [128, 128];"
                + " the adapter was made for another base model");
        Path deeper = peftAdapter("deeper", "model.layers.9.self_attn.q_proj", 128);
        assertFails(dryRun(cfg, "network_weights=" + deeper), "--set network_weights=" + deeper + ": network_weights " + deeper
                + " adapts 'model.layers.9.self_attn.q_proj', which builtin:tiny-llama does not have; the adapter was made for another base model");
        Path fits = peftAdapter("fits", "model.layers.0.self_attn.q_proj", 128);
        CliTrainCommandTest.Run ok = dryRun(cfg, "network_weights=" + fits);
        assertEquals(0, ok.code(), ok.err());
        Path notAdapter = Files.createDirectories(dir.resolve("empty"));
        assertFails(dryRun(cfg, "network_weights=" + notAdapter), "--set network_weights=" + notAdapter + ": network_weights " + notAdapter
                + " has no adapter_config.json; it is not a PEFT adapter folder");
    }

    @Test void aDoraFileContinuesOnlyWithUseDora() throws Exception {
        Path lora = dir.resolve("dora.safetensors");
        String m = "lora_unet_down_blocks_0_attentions_0_proj_in";
        new SafetensorsWriter()
                .add(m + ".lora_down.weight", DType.F32, new long[] {8, 32, 1, 1}, new byte[8 * 32 * 4])
                .add(m + ".lora_up.weight", DType.F32, new long[] {32, 8, 1, 1}, new byte[32 * 8 * 4])
                .add(m + ".alpha", DType.F32, new long[] {}, floatBytes(16f))
                .add(m + ".dora_scale", DType.F32, new long[] {1, 32, 1, 1}, new byte[32 * 4])
                .write(lora);
        assertFails(dryRun(Path.of("examples/quickstart.yaml"), "network_weights=" + lora), "--set network_weights=" + lora
                + ": network_weights " + lora + " is a DoRA (dora_scale); set use_dora: true to continue it");
        CliTrainCommandTest.Run ok = dryRun(Path.of("examples/quickstart.yaml"), "network_weights=" + lora, "use_dora=true");
        assertEquals(0, ok.code(), ok.err());
        Path plain = peftAdapter("plain", "model.layers.0.self_attn.q_proj", 128);
        assertFails(dryRun(textConfig("use_dora: true\n"), "network_weights=" + plain), "--set network_weights=" + plain
                + ": network_weights " + plain + " is a plain LoRA (no lora_magnitude_vector); set use_dora: false to continue it");
    }

    private Path peftAdapter(String name, String module, int in) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 8}");
        new SafetensorsWriter()
                .add("base_model.model." + module + ".lora_A.weight", DType.F32, new long[] {8, in}, new byte[8 * in * 4])
                .add("base_model.model." + module + ".lora_B.weight", DType.F32, new long[] {128, 8}, new byte[128 * 8 * 4])
                .write(d.resolve("adapter_model.safetensors"));
        return d;
    }

    private static byte[] floatBytes(float v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array();
    }
}
