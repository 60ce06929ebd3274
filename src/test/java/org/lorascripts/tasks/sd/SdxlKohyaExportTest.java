package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageDatasetOptions;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.SdLoraTargets;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.clip.TinySdxlText;
import org.lorascripts.models.sd.load.TinySdxl;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * An SDXL LoRA as kohya writes it: UNet keys in LDM names, lora_te1_ / lora_te2_ in HF names, every
 * key found by WebUI's rules in the tiny SDXL single file and no targeted module left out; read back
 * onto the diffusers-named modules; SDXL's metadata.
 */
class SdxlKohyaExportTest {
    @TempDir Path dir;

    /** The tiny SDXL models with LoRAs on kohya's targets, and the single file's parameter names. */
    private record Tiny(UNet2DConditionModel unet, LoraNetwork unetNet, LoraNetwork te1Net, LoraNetwork te2Net, Set<String> checkpointParams) {}

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void everyKeyResolvesUnderWebUisSdxlRulesAndNoModuleIsLeftOut(boolean conv) throws Exception {
        Path unetFile = TinySdxl.writeLdm(dir.resolve("unet.safetensors"), false);
        Path textFile;
        try (Scope s = Scope.open()) {
            textFile = TinySdxlText.writeLdm(dir.resolve("text.safetensors"), TinySdxlText.hfTensors(7L));
        }
        Set<String> params = new TreeSet<>();
        Map<String, long[]> shapes = new TreeMap<>();
        for (Path f : List.of(textFile, unetFile)) {
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                for (String n : sf.names()) {
                    params.add(n);
                    shapes.put(n, sf.info(n).shape());   // the UNet file last: its out.2 is the real one
                }
            }
        }
        Path lora = dir.resolve("sdxl-lora.safetensors");
        LoraSpec spec = new LoraSpec(4, 2, 0, conv ? 2 : 0, 1, false);
        try (SafetensorsFile tf = SafetensorsFile.open(textFile);
             Weights w1 = new Weights(SdxlTextEncoder.TE1.weights(tf, "text.safetensors"), Device.CPU, DType.F32);
             Weights w2 = new Weights(SdxlTextEncoder.TE2.weights(tf, "text.safetensors"), Device.CPU, DType.F32);
             UNet2DConditionModel unet = TinySdxl.loadLdm(unetFile, TinySdxl.unetConfig(), DType.F32)) {
            ClipTextModel te1 = new ClipTextModel(w1, TinySdxlText.te1Config());
            ClipTextModelWithProjection te2 = new ClipTextModelWithProjection(w2, TinySdxlText.te2Config(), TinySdxlText.TE2_PROJECTION);
            try (LoraNetwork u = LoraNetwork.inject(unet.loraHosts(), SdLoraTargets.unet(conv), spec, Device.CPU);
                 LoraNetwork t1 = LoraNetwork.inject(te1.loraHosts(), n -> true, spec, Device.CPU);
                 LoraNetwork t2 = LoraNetwork.inject(te2.loraHosts(), n -> true, spec, Device.CPU)) {
                KohyaLoraWriter.write(lora, SdxlKohyaNames.parts(TinySdxl.unetConfig(), u, t1, t2), DType.F16, Map.of("ss_network_module", "networks.lora"));
                int modules = u.size() + t1.size() + t2.size();

                Set<String> names = new TreeSet<>();
                try (SafetensorsFile f = SafetensorsFile.open(lora)) {
                    for (String k : f.names()) names.add(k.substring(0, k.indexOf('.')));
                }
                assertEquals(modules, names.size(), "one kohya name per adapter");
                assertTrue(names.contains("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"), "LDM numbering");
                assertTrue(names.contains("lora_unet_middle_block_1_transformer_blocks_2_ff_net_2"));
                assertTrue(names.contains("lora_unet_output_blocks_5_1_proj_out"));
                assertTrue(names.contains("lora_te1_text_model_encoder_layers_0_self_attn_q_proj"));
                assertTrue(names.contains("lora_te2_text_model_encoder_layers_2_mlp_fc2"));
                assertFalse(names.stream().anyMatch(n -> n.contains("down_blocks") || n.contains("attentions")), "no diffusers names");
                if (conv) {
                    for (String n : List.of("lora_unet_input_blocks_1_0_in_layers_2", "lora_unet_input_blocks_1_0_out_layers_3",
                            "lora_unet_input_blocks_1_0_emb_layers_1", "lora_unet_input_blocks_4_0_skip_connection", "lora_unet_input_blocks_3_0_op",
                            "lora_unet_output_blocks_2_2_conv", "lora_unet_output_blocks_5_2_conv", "lora_unet_middle_block_2_out_layers_3")) {
                        assertTrue(names.contains(n), n);
                    }
                }

                WebUiLoraRules.Result r = WebUiLoraRules.resolve(names, params, false);
                assertEquals(List.of(), r.ignored(), "keys WebUI would ignore");
                assertEquals(expectedTargets(shapes, conv), new TreeSet<>(r.targets().values()), "modules kohya targets in the single file");

                // reading back: every key lands on the diffusers-named module it was written from
                try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(lora)) {
                    Map<String, LoraNetwork> nets = KohyaLoraReader.attach(f, Map.of(KohyaLoraWriter.PREFIX_UNET, unet.loraHosts(),
                            KohyaLoraWriter.PREFIX_TEXT_ENCODER1, te1.loraHosts(), KohyaLoraWriter.PREFIX_TEXT_ENCODER2, te2.loraHosts()),
                            SdxlKohyaNames.kohyaModules(TinySdxl.unetConfig()), 1.0, Device.CPU);
                    try {
                        assertEquals(u.adapters().keySet(), nets.get(KohyaLoraWriter.PREFIX_UNET).adapters().keySet());
                        assertEquals(t1.adapters().keySet(), nets.get(KohyaLoraWriter.PREFIX_TEXT_ENCODER1).adapters().keySet());
                        assertEquals(t2.adapters().keySet(), nets.get(KohyaLoraWriter.PREFIX_TEXT_ENCODER2).adapters().keySet());
                    } finally {
                        nets.values().forEach(LoraNetwork::close);
                    }
                }
            }
        }
    }

    /**
     * kohya's SDXL targets, named from the single file alone: every linear / conv (2-D or 4-D weight) in
     * a SpatialTransformer ({@code input_blocks.N.1}, {@code middle_block.1}, {@code output_blocks.N.1}),
     * with conv LoRA also in the ResBlocks, Downsample ({@code op}) and Upsample ({@code conv}); te1's
     * attention and MLP linears; te2's fused attention ({@code attn.in_proj}), out_proj, c_fc, c_proj.
     */
    static Set<String> expectedTargets(Map<String, long[]> shapes, boolean conv) {
        Set<String> t = new TreeSet<>();
        for (var e : shapes.entrySet()) {
            String p = e.getKey();
            int rank = e.getValue().length;
            if (p.startsWith("model.diffusion_model.") && p.endsWith(".weight") && (rank == 2 || rank == 4)) {
                String m = p.substring(0, p.length() - ".weight".length());
                String ldm = m.substring("model.diffusion_model.".length());
                boolean transformer = ldm.matches("(input_blocks|output_blocks)\\.\\d+\\.1\\..*|middle_block\\.1\\..*");
                boolean convBlock = ldm.matches("(input_blocks\\.([1-9]|\\d\\d+)|output_blocks\\.\\d+)\\.0\\..*|middle_block\\.[02]\\..*"
                        + "|output_blocks\\.\\d+\\.[12]\\.conv");
                if (transformer && !ldm.matches("output_blocks\\.\\d+\\.1\\.conv") || conv && convBlock) t.add(m);
            } else if (p.matches("conditioner\\.embedders\\.0\\.transformer\\.text_model\\.encoder\\.layers\\.\\d+\\.(self_attn|mlp)\\..*\\.weight")) {
                t.add(p.substring(0, p.length() - ".weight".length()));
            } else if (p.matches("conditioner\\.embedders\\.1\\.model\\.transformer\\.resblocks\\.\\d+\\..*")) {
                if (p.endsWith(".attn.in_proj_weight")) t.add(p.substring(0, p.length() - "_weight".length()));
                else if (p.matches(".*\\.(attn\\.out_proj|mlp\\.c_fc|mlp\\.c_proj)\\.weight")) t.add(p.substring(0, p.length() - ".weight".length()));
            }
        }
        return t;
    }

    /** The same rules drop an OpenCLIP attention whose out_proj is missing: the check has teeth. */
    @Test
    void aTe2AttentionWithoutAllFourProjectionsIsIgnored() {
        List<String> params = new ArrayList<>();
        for (String s : List.of("attn.in_proj_weight", "attn.out_proj.weight", "mlp.c_fc.weight")) params.add("conditioner.embedders.1.model.transformer.resblocks.0." + s);
        WebUiLoraRules.Result r = WebUiLoraRules.resolve(List.of("lora_te2_text_model_encoder_layers_0_self_attn_q_proj",
                "lora_te2_text_model_encoder_layers_0_self_attn_k_proj", "lora_te2_text_model_encoder_layers_0_self_attn_v_proj",
                "lora_te2_text_model_encoder_layers_0_mlp_fc1", "lora_unet_down_blocks_0_attentions_0_proj_in"), params, false);
        assertEquals(Map.of("lora_te2_text_model_encoder_layers_0_mlp_fc1", "conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_fc"), r.targets());
        assertEquals(4, r.ignored().size(), r.ignored().toString());
    }

    @Test
    void metadataNamesSdxl() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        TrainConfig c = TrainConfig.of(cfg);
        ImageCaptionDataset ds = ImageCaptionDataset.open(ImageDatasetOptions.of(c), w -> {});
        Map<String, String> m = SdLoraMetadata.of(c, SdLoraMetadata.Base.SDXL, false, ds, 2, 1, System.currentTimeMillis());
        assertEquals("sdxl_base_v1-0", m.get("ss_base_model_version"));
        assertEquals("False", m.get("ss_v2"));
        assertEquals("networks.lora", m.get("ss_network_module"));
        assertEquals("stable-diffusion-xl-v1-base/lora", m.get("modelspec.architecture"));
        assertEquals("https://github.com/Stability-AI/generative-models", m.get("modelspec.implementation"));
        assertEquals("epsilon", m.get("modelspec.prediction_type"));
        assertEquals(SdTrainingFixture.SIZE + "x" + SdTrainingFixture.SIZE, m.get("modelspec.resolution"));
        Map<String, String> sd1 = SdLoraMetadata.of(c, SdLoraMetadata.Base.SD1, false, ds, 2, 1, 0);
        // started on a whole minute: the seconds are still written, as Python's isoformat() writes them
        assertTrue(sd1.get("modelspec.date").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:00"), sd1.get("modelspec.date"));
        assertEquals("sd_v1", sd1.get("ss_base_model_version"));
        assertEquals("diffusers", sd1.get("modelspec.implementation"));
        assertEquals(new ArrayList<>(sd1.keySet()), new ArrayList<>(SdLoraMetadata.of(c, SdLoraMetadata.Base.SDXL, false, ds, 2, 1, 0).keySet()),
                "same keys, same order");
    }
}
