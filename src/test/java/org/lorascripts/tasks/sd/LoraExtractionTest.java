package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.Main;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import picocli.CommandLine;

/**
 * {@code ./lora extract} on the built-in tiny models: tuned = base + known rank-2 deltas on a few modules (linear,
 * 1x1 and 3x3 convolutions, an HF CLIP linear, a q/k/v third of an OpenCLIP in_proj), so the extracted LoRA must
 * reproduce each delta (rank 4 ≥ 2, no clamping) and be ~0 elsewhere; every key must be one WebUI applies
 * ({@link WebUiLoraRules}) and one our pipeline attaches ({@link PipelineLoras}).
 */
class LoraExtractionTest {
    @TempDir Path dir;

    static int cli(StringWriter out, String... args) {
        CommandLine cmd = Main.newCommandLine();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        if (code != 0) out.write(err.toString());
        return code;
    }

    @Test
    void sd1DeltasComeBack() throws Exception {
        Rng.manualSeed(5);
        Path base = TinySdBuiltin.SD.ensureCached(), tuned = dir.resolve("tuned.safetensors"), lora = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            var q = CheckpointDeltas.lowRank("model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn1.to_q.weight", 0, new long[] {96, 96}, 0.05);
            var conv = CheckpointDeltas.lowRank("model.diffusion_model.input_blocks.1.0.in_layers.2.weight", 0, new long[] {64, 64, 3, 3}, 0.02);
            var projIn = CheckpointDeltas.lowRank("model.diffusion_model.input_blocks.1.1.proj_in.weight", 0, new long[] {64, 64, 1, 1}, 0.05);
            var fc1 = CheckpointDeltas.lowRank("cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight", 0, new long[] {256, 64}, 0.05);
            CheckpointDeltas.write(base, tuned, DType.F32, q, conv, projIn, fc1);
            StringWriter out = new StringWriter();
            assertEquals(0, cli(out, "extract", "--base", "builtin:tiny-sd", "--tuned", tuned.toString(), "--rank", "4", "--conv-rank", "4",
                    "--clamp-quantile", "1", "-o", lora.toString()), out.toString());
            assertTrue(out.toString().contains("text encoders included"), out.toString());
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(lora)) {
                assertDelta(f, "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q", q.value());
                assertDelta(f, "lora_unet_down_blocks_0_resnets_0_conv1", conv.value());
                assertDelta(f, "lora_unet_down_blocks_0_attentions_0_proj_in", projIn.value());
                assertDelta(f, "lora_te_text_model_encoder_layers_0_mlp_fc1", fc1.value());
                assertDelta(f, "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k", null);
                assertEquals(4, f.modules().get("lora_unet_down_blocks_0_resnets_0_conv1").rank());
                assertEquals(4.0, f.modules().get("lora_unet_down_blocks_0_resnets_0_conv1").alpha());
                assertEquals("4", f.metadata().get("ss_network_dim"));
                assertEquals("4.0", f.metadata().get("ss_network_alpha"));
                assertEquals("sd_v1", f.metadata().get("ss_base_model_version"));
                assertEquals("{\"conv_dim\": \"4\", \"conv_alpha\": \"4.0\"}", f.metadata().get("ss_network_args"));
                assertPipelineTakesIt(f, base, lora, false);
            }
        }
    }

    @Test
    void sdxlOpenClipThirdAndLdmNames() throws Exception {
        Rng.manualSeed(6);
        Path base = TinySdBuiltin.SDXL.ensureCached(), tuned = dir.resolve("tuned.safetensors"), lora = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            var q = CheckpointDeltas.lowRank("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight", 0, new long[] {64, 64}, 0.05);
            // rows 64..127 of in_proj_weight (192, 64) are k
            var k = CheckpointDeltas.lowRank("conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight", 64, new long[] {64, 64}, 0.05);
            CheckpointDeltas.write(base, tuned, DType.F32, q, k);
            StringWriter out = new StringWriter();
            assertEquals(0, cli(out, "extract", "--base", base.toString(), "--tuned", tuned.toString(), "--rank", "4", "--clamp-quantile", "1",
                    "--save-precision", "fp32", "-o", lora.toString()), out.toString());
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(lora)) {
                assertDelta(f, "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", q.value());
                assertDelta(f, "lora_te2_text_model_encoder_layers_0_self_attn_k_proj", k.value());
                assertDelta(f, "lora_te2_text_model_encoder_layers_0_self_attn_q_proj", null);
                assertDelta(f, "lora_te2_text_model_encoder_layers_0_self_attn_v_proj", null);
                assertDelta(f, "lora_te1_text_model_encoder_layers_0_self_attn_k_proj", null);
                assertFalse(f.modules().keySet().stream().anyMatch(n -> n.contains("in_layers")), "no 3x3 convolutions without --conv-rank");
                assertEquals("sdxl_base_v1-0", f.metadata().get("ss_base_model_version"));
                assertPipelineTakesIt(f, base, lora, true);
            }
        }
    }

    @Test
    void sd2OpenClipWithoutItsUnusedLastLayer() throws Exception {
        Rng.manualSeed(8);
        Path base = org.lorascripts.models.sd.load.TinySd2.writeLdm(dir.resolve("sd2.safetensors"));
        Path tuned = dir.resolve("tuned.safetensors"), lora = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            // rows 64..95 of in_proj_weight (96, 32) are v
            var v = CheckpointDeltas.lowRank("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", 64, new long[] {32, 32}, 0.05);
            var last = CheckpointDeltas.lowRank("cond_stage_model.model.transformer.resblocks.2.mlp.c_fc.weight", 0, new long[] {48, 32}, 0.05);
            CheckpointDeltas.write(base, tuned, DType.F32, v, last);
            StringWriter out = new StringWriter();
            assertEquals(0, cli(out, "extract", "--base", base.toString(), "--tuned", tuned.toString(), "--rank", "2", "--clamp-quantile", "1",
                    "-o", lora.toString()), out.toString());
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(lora)) {
                assertDelta(f, "lora_te_text_model_encoder_layers_0_self_attn_v_proj", v.value());
                assertDelta(f, "lora_te_text_model_encoder_layers_1_mlp_fc1", null);
                assertFalse(f.modules().keySet().stream().anyMatch(n -> n.contains("layers_2_")), "no module on the layer SD 2 does not run");
                assertEquals("True", f.metadata().get("ss_v2"));
                assertEquals("sd_v2", f.metadata().get("ss_base_model_version"));
                assertPipelineTakesIt(f, base, lora, false);
            }
        }
    }

    @Test
    void unchangedTextEncoderIsLeftOutAndBadInputIsOneLine() throws Exception {
        Rng.manualSeed(7);
        Path base = TinySdBuiltin.SD.ensureCached(), tuned = dir.resolve("tuned.safetensors"), lora = dir.resolve("x.safetensors");
        try (Scope s = Scope.open()) {
            var q = CheckpointDeltas.lowRank("model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn1.to_q.weight", 0, new long[] {96, 96}, 0.05);
            CheckpointDeltas.write(base, tuned, DType.F16, q);
            StringWriter out = new StringWriter();
            assertEquals(0, cli(out, "extract", "--base", base.toString(), "--tuned", tuned.toString(), "--rank", "2", "-o", lora.toString()), out.toString());
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(lora)) {
                assertFalse(f.modules().keySet().stream().anyMatch(n -> n.startsWith("lora_te")));
                assertTrue(f.modules().containsKey("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"));
            }
            StringWriter err = new StringWriter();
            assertEquals(2, cli(err, "extract", "--base", base.toString(), "--tuned", TinySdBuiltin.SDXL.ensureCached().toString(), "--rank", "2",
                    "-o", dir.resolve("y.safetensors").toString()));
            assertTrue(err.toString().startsWith("error: ") && err.toString().contains("same architecture"), err.toString());
            assertFalse(dir.resolve("y.safetensors").toFile().exists());
            StringWriter exists = new StringWriter();
            assertEquals(2, cli(exists, "extract", "--base", base.toString(), "--tuned", tuned.toString(), "--rank", "2", "-o", lora.toString()));
            assertTrue(exists.toString().contains("already exists"), exists.toString());
        }
    }

    /** scale · up · down of a module equals {@code expected} (null: ~0). */
    static void assertDelta(KohyaLoraReader.LoraFile f, String name, Tensor expected) {
        KohyaLoraReader.Module m = f.modules().get(name);
        assertTrue(m != null, name + " is in the file; have " + f.modules().keySet().stream().limit(5).toList());
        long out = m.up().size(0);
        Tensor got = m.up().reshape(out, m.rank()).mm(m.down().reshape(m.rank(), -1)).mul(m.scale());
        Tensor want = expected == null ? got.mul(0) : expected.reshape(out, -1);
        double diff = got.sub(want).abs().amax().item();
        assertTrue(diff < 2e-4, name + ": max |extracted - delta| = " + diff);
    }

    /**
     * WebUI's rules are checked on SDXL files only: for SD 1.x it maps diffusers block numbers with the real
     * UNet's fixed layout (three per level), which the tiny model's smaller UNet does not have.
     */
    static void assertPipelineTakesIt(KohyaLoraReader.LoraFile f, Path checkpoint, Path lora, boolean webUi) throws Exception {
        if (webUi) assertWebUiTakesIt(f, checkpoint);
        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(checkpoint), null, Device.CPU, DType.F32)) {
            Map<String, LoraNetwork> nets = PipelineLoras.load(lora, p);
            int attached = nets.values().stream().mapToInt(n -> n.adapters().size()).sum();
            assertEquals(f.modules().size(), attached);
            for (LoraNetwork n : nets.values()) n.close();
        }
    }

    static void assertWebUiTakesIt(KohyaLoraReader.LoraFile f, Path checkpoint) throws Exception {
        List<String> params;
        try (SafetensorsFile c = SafetensorsFile.open(checkpoint)) {
            params = c.names();
        }
        WebUiLoraRules.Result r = WebUiLoraRules.resolve(f.modules().keySet(), params, false);
        assertEquals(List.of(), r.ignored());
        assertEquals(f.modules().size(), r.targets().size());
    }
}
