package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.nn.ShapeOnlyWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;

/** SDXL's UNet in the LDM single-file layout: names both ways, config inference, both layouts load alike. */
class SdxlLdmTest {
    @TempDir static Path dir;
    static Path ldm, ldmBare, folder;

    @BeforeAll
    static void write() throws Exception {
        ldm = TinySdxl.writeLdm(dir.resolve("tiny-sdxl.safetensors"), true);
        ldmBare = TinySdxl.writeLdm(dir.resolve("tiny-sdxl-bare.safetensors"), false);
        folder = TinySdxl.writeDiffusers(dir.resolve("tiny-sdxl"));
    }

    @Test
    void bothLayoutsGiveIdenticalOutputs() throws Exception {
        UNetConfig fromMeta;
        try (SafetensorsFile f = SafetensorsFile.open(ldm)) {
            fromMeta = UNetConfig.fromJson(Json.parse(f.metadata().get("unet_config")), "unet_config", UNetConfig.Prediction.EPSILON);
        }
        assertEquals(TinySdxl.unetConfig(), fromMeta);
        try (UNet2DConditionModel a = TinySdxl.loadLdm(ldm, fromMeta, DType.F32); UNet2DConditionModel b = TinySdxl.loadDiffusers(folder, DType.F32);
             Scope s = Scope.open()) {
            assertEquals(a.config(), b.config());
            assertEquals(a.parameters().keySet(), b.parameters().keySet());
            TinySdxl.Inputs in = TinySdxl.inputs(DType.F32);
            float[] ya = in.run(a).toFloatArray();
            assertArrayEquals(ya, in.run(b).toFloatArray(), 0f);
            double m = 0;
            for (float v : ya) m = Math.max(m, Math.abs(v));
            assertTrue(m > 1e-3, "the output is not trivially zero");
        }
    }

    /** Everything but the width of one time id's embedding comes from the tiny file's shapes; that one is named as missing. */
    @Test
    void theTinyFileShapesGiveTheLevelStructure() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(ldmBare)) {
            var e = assertThrows(IllegalArgumentException.class, () -> new LdmConfigs(f, "tiny-sdxl-bare.safetensors").sdxlUnet(UNetConfig.Prediction.EPSILON, null, new ArrayList<>()));
            assertEquals("tiny-sdxl-bare.safetensors: model.diffusion_model.label_emb.0.0.weight takes 80 features, too few for SDXL's time ids of 256 channels each;"
                    + " the width of the time-id embedding is not in the tensors: embed the UNet's diffusers config.json as metadata unet_config", e.getMessage());
            Map<String, long[]> withoutLabelEmb = new LinkedHashMap<>(TinySdxl.shapes(f));
            withoutLabelEmb.keySet().removeIf(n -> n.contains("label_emb"));
            List<String> notes = new ArrayList<>();
            UNetConfig c = new LdmConfigs(new ShapeOnlyTensors(withoutLabelEmb), "tiny").sdxlUnet(UNetConfig.Prediction.EPSILON, null, notes);
            UNetConfig want = TinySdxl.unetConfig();
            assertEquals(List.of(1, 2, 3), c.transformerLayersPerBlock());
            assertEquals(want.blockOutChannels(), c.blockOutChannels());
            assertEquals(want.layersPerBlock(), c.layersPerBlock());
            assertEquals(want.downBlockTypes(), c.downBlockTypes());
            assertEquals(want.upBlockTypes(), c.upBlockTypes());
            assertEquals(TinySdxl.CONTEXT, c.crossAttentionDim());
            assertTrue(c.useLinearProjection());
            assertNull(c.textTime());
            assertEquals(List.of(8, 1, 1), c.attentionHeadDim(), "SDXL's 64 channels per head; 32 channels get the most heads up to 8");
            assertTrue(notes.stream().anyMatch(n -> n.startsWith("UNet blocks of 32 channels: 8 attention heads assumed")), notes.toString());
        }
    }

    /** The full-size SDXL UNet's names in LDM layout, from shapes only: the config comes back, and the names are SDXL's. */
    @Test
    void fullSizeSdxlNamesAndInference() {
        UNetConfig sdxl = UNetConfig.sdxl();
        LdmUnetNames names = new LdmUnetNames(sdxl);
        Map<String, long[]> file = new LinkedHashMap<>();
        try (Weights w = new Weights(new ShapeOnlyWeights(), Device.CPU, DType.F32)) {
            new UNet2DConditionModel(w, sdxl);
            for (var e : w.loadedShapes().entrySet()) {
                String n = names.toLdm(e.getKey());
                assertNotNull(n, e.getKey());
                assertEquals(e.getKey(), names.toDiffusers(n));
                assertNull(file.put(n, e.getValue()), "one LDM name per tensor: " + n);
            }
        }
        assertEquals(1680, file.size(), "SDXL base has 1680 UNet tensors");
        // SDXL's own names (sgm openaimodel.UNetModel)
        Map<String, long[]> known = new LinkedHashMap<>();
        known.put("time_embed.0.weight", new long[] {1280, 320});
        known.put("label_emb.0.0.weight", new long[] {1280, 2816});
        known.put("label_emb.0.2.weight", new long[] {1280, 1280});
        known.put("input_blocks.0.0.weight", new long[] {320, 4, 3, 3});
        known.put("input_blocks.2.0.emb_layers.1.weight", new long[] {320, 1280});
        known.put("input_blocks.3.0.op.weight", new long[] {320, 320, 3, 3});
        known.put("input_blocks.4.0.skip_connection.weight", new long[] {640, 320, 1, 1});
        known.put("input_blocks.4.1.proj_in.weight", new long[] {640, 640});
        known.put("input_blocks.4.1.transformer_blocks.1.attn1.to_q.weight", new long[] {640, 640});
        known.put("input_blocks.5.1.transformer_blocks.1.attn2.to_k.weight", new long[] {640, 2048});
        known.put("input_blocks.6.0.op.weight", new long[] {640, 640, 3, 3});
        known.put("input_blocks.8.1.transformer_blocks.9.ff.net.0.proj.weight", new long[] {10240, 1280});
        known.put("middle_block.0.in_layers.0.weight", new long[] {1280});
        known.put("middle_block.1.transformer_blocks.9.attn2.to_v.weight", new long[] {1280, 2048});
        known.put("middle_block.2.out_layers.3.weight", new long[] {1280, 1280, 3, 3});
        known.put("output_blocks.0.0.in_layers.0.weight", new long[] {2560});
        known.put("output_blocks.2.1.transformer_blocks.9.norm3.weight", new long[] {1280});
        known.put("output_blocks.2.2.conv.weight", new long[] {1280, 1280, 3, 3});
        known.put("output_blocks.3.0.skip_connection.weight", new long[] {640, 1920, 1, 1});
        known.put("output_blocks.5.1.transformer_blocks.1.ff.net.2.weight", new long[] {640, 2560});
        known.put("output_blocks.5.2.conv.weight", new long[] {640, 640, 3, 3});
        known.put("output_blocks.8.0.skip_connection.weight", new long[] {320, 640, 1, 1});
        known.put("out.0.weight", new long[] {320});
        known.put("out.2.weight", new long[] {4, 320, 3, 3});
        for (var e : known.entrySet()) {
            assertTrue(file.containsKey(e.getKey()), e.getKey());
            assertArrayEquals(e.getValue(), file.get(e.getKey()), e.getKey());
        }
        for (String absent : List.of("input_blocks.1.1.proj_in.weight", "input_blocks.4.1.transformer_blocks.2.attn1.to_q.weight",
                "input_blocks.9.0.op.weight", "middle_block.1.transformer_blocks.10.norm1.weight", "output_blocks.6.1.proj_in.weight",
                "output_blocks.8.1.conv.weight", "output_blocks.8.2.conv.weight", "output_blocks.9.0.in_layers.0.weight")) {
            assertFalse(file.containsKey(absent), absent);
        }
        assertEquals(2, countPrefix(file, "input_blocks.4.1.transformer_blocks.", ".attn1.to_q.weight"));
        assertEquals(10, countPrefix(file, "middle_block.1.transformer_blocks.", ".attn1.to_q.weight"));
        for (int k = 0; k <= 2; k++) assertEquals(10, countPrefix(file, "output_blocks." + k + ".1.transformer_blocks.", ".attn1.to_q.weight"));

        Map<String, long[]> prefixed = new LinkedHashMap<>();
        file.forEach((n, s) -> prefixed.put(LdmNames.UNET_PREFIX + n, s));
        List<String> notes = new ArrayList<>();
        UNetConfig inferred = new LdmConfigs(new ShapeOnlyTensors(prefixed), "sd_xl_base_1.0.safetensors").sdxlUnet(UNetConfig.Prediction.EPSILON, null, notes);
        assertEquals(sdxl, inferred);
        assertEquals(List.of(), notes, "nothing assumed beyond SDXL's rules for SDXL's widths");

        // the refiner's label_emb (5 time ids) reads as 2560 inputs with 256-wide time ids, like diffusers
        prefixed.put(LdmNames.UNET_PREFIX + "label_emb.0.0.weight", new long[] {1280, 2560});
        assertEquals(new UNetConfig.TextTime(256, 2560), new LdmConfigs(new ShapeOnlyTensors(prefixed), "refiner").sdxlUnet(UNetConfig.Prediction.EPSILON, null, null).textTime());
    }

    private static int countPrefix(Map<String, long[]> file, String prefix, String suffix) {
        Set<String> ks = new HashSet<>();
        for (String n : file.keySet()) {
            if (n.startsWith(prefix) && n.endsWith(suffix)) ks.add(n.substring(prefix.length(), n.length() - suffix.length()));
        }
        return ks.size();
    }

    /** diffusers ↔ LDM over every module and tensor of the tiny SDXL UNet: a bijection onto the file's UNet tensors. */
    @Test
    void theNameMappingIsABijectionOverEveryModule() throws Exception {
        UNetConfig c = TinySdxl.unetConfig();
        LdmUnetNames names = new LdmUnetNames(c);
        try (SafetensorsFile f = SafetensorsFile.open(ldm); UNet2DConditionModel unet = TinySdxl.loadDiffusers(folder, DType.F32)) {
            Set<String> fileNames = new TreeSet<>();
            for (String n : f.names()) {
                assertTrue(n.startsWith(LdmNames.UNET_PREFIX), n);
                fileNames.add(n.substring(LdmNames.UNET_PREFIX.length()));
            }
            // modules: every LoRA host, every module holding a tensor, and the blocks above them that LDM numbers
            Set<String> modules = new TreeSet<>(unet.loraHosts().keySet());
            for (String p : unet.parameters().keySet()) {
                String m = p.substring(0, p.lastIndexOf('.'));
                modules.add(m);
                String[] parts = m.split("\\.");
                if (parts[0].endsWith("_blocks") && parts.length >= 4) modules.add(String.join(".", parts[0], parts[1], parts[2], parts[3]));
                if (parts[0].equals("mid_block") && parts.length >= 3) modules.add(String.join(".", parts[0], parts[1], parts[2]));
            }
            Map<String, String> ldmOf = new LinkedHashMap<>();
            Set<String> seen = new HashSet<>();
            for (String m : modules) {
                String l = names.toLdm(m);
                assertNotNull(l, "no LDM name for " + m);
                assertTrue(seen.add(l), "two modules map to " + l);
                assertEquals(m, names.toDiffusers(l), "back from " + l);
                ldmOf.put(m, l);
            }
            assertTrue(modules.size() > 300, "modules: " + modules.size());
            // every tensor: its LDM name exists in the file, and the file holds nothing else
            Set<String> mapped = new TreeSet<>();
            for (String p : unet.parameters().keySet()) {
                String l = names.toLdm(p);
                assertTrue(fileNames.contains(l), p + " → " + l + " is not in the file");
                assertEquals(ldmOf.get(p.substring(0, p.lastIndexOf('.'))) + p.substring(p.lastIndexOf('.')), l, "module name + leaf");
                mapped.add(l);
            }
            assertEquals(fileNames, mapped);
            for (String l : fileNames) assertEquals(l, names.toLdm(names.toDiffusers(l)));
            // SDXL's numbering at tiny size
            assertEquals("input_blocks.4.1.transformer_blocks.1", names.toLdm("down_blocks.1.attentions.0.transformer_blocks.1"));
            assertEquals("input_blocks.8.1.transformer_blocks.2.attn2.to_k", names.toLdm("down_blocks.2.attentions.1.transformer_blocks.2.attn2.to_k"));
            assertEquals("middle_block.1.transformer_blocks.2", names.toLdm("mid_block.attentions.0.transformer_blocks.2"));
            assertEquals("label_emb.0.0", names.toLdm("add_embedding.linear_1"));
            assertEquals("label_emb.0.2", names.toLdm("add_embedding.linear_2"));
            assertEquals("output_blocks.2.2.conv", names.toLdm("up_blocks.0.upsamplers.0.conv"));
            assertEquals("output_blocks.5.2.conv", names.toLdm("up_blocks.1.upsamplers.0.conv"));
            assertEquals("input_blocks.3.0.op", names.toLdm("down_blocks.0.downsamplers.0.conv"));
            assertEquals("input_blocks.1.0.in_layers.2", names.toLdm("down_blocks.0.resnets.0.conv1"));
            assertEquals("output_blocks.8.0.skip_connection", names.toLdm("up_blocks.2.resnets.2.conv_shortcut"));
        }
    }

    @Test
    void kohyaNamesForWebUiComeFromTheLdmNames() {
        LdmUnetNames names = new LdmUnetNames(UNetConfig.sdxl());
        assertEquals("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
                KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_UNET, names.toLdm("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q")));
        assertEquals("lora_unet_output_blocks_0_1_transformer_blocks_9_ff_net_2",
                KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_UNET, names.toLdm("up_blocks.0.attentions.0.transformer_blocks.9.ff.net.2")));
        assertEquals("lora_unet_middle_block_1_proj_out", KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_UNET, names.toLdm("mid_block.attentions.0.proj_out")));
        assertEquals("down_blocks.2.attentions.1.transformer_blocks.7.attn2.to_out.0", names.toDiffusers("input_blocks.8.1.transformer_blocks.7.attn2.to_out.0"));
    }

    @Test
    void namesWithoutACounterpartAreNull() {
        LdmUnetNames xl = new LdmUnetNames(UNetConfig.sdxl());
        assertNull(xl.toLdm("down_blocks.0.attentions.0.proj_in"), "SDXL's first level has no attention");
        assertNull(xl.toLdm("down_blocks.2.downsamplers.0.conv"), "no downsampler after the last level");
        assertNull(xl.toLdm("up_blocks.2.upsamplers.0.conv"));
        assertNull(xl.toLdm("down_blocks.3.resnets.0.conv1"));
        assertNull(xl.toLdm("down_blocks.0.resnets.2.conv1"), "2 resnets per down level");
        assertNull(xl.toLdm("mid_block.attentions.1.proj_in"));
        assertNull(xl.toLdm("down_blocks.0.resnets.0.conv3"));
        assertNull(xl.toDiffusers("input_blocks.1.1.proj_in"));
        assertNull(xl.toDiffusers("input_blocks.9.0.op"));
        assertNull(xl.toDiffusers("output_blocks.8.2.conv"));
        assertNull(xl.toDiffusers("output_blocks.9.0.in_layers.0"));
        assertNull(xl.toDiffusers("output_blocks.02.2.conv"));
        assertNull(xl.toDiffusers("label_emb.0.1"));
        assertNull(xl.toDiffusers("cond_stage_model.transformer"));
        LdmUnetNames sd1 = new LdmUnetNames(UNetConfig.sd15());
        assertNull(sd1.toLdm("add_embedding.linear_1"), "SD 1.x has no added condition");
        assertNull(sd1.toDiffusers("label_emb.0.0.weight"));
        assertEquals("output_blocks.2.1.conv", sd1.toLdm("up_blocks.0.upsamplers.0.conv"), "an up level without attention has its upsampler at 1");
        assertEquals("up_blocks.0.upsamplers.0.conv.bias", sd1.toDiffusers("output_blocks.2.1.conv.bias"));
    }

    /** SD 1.x / 2.x names are what they were before SDXL: the mapping as it stood, over every tensor of the full-size models. */
    @Test
    void sd1AndSd2NamesAreUnchanged() {
        for (UNetConfig c : List.of(UNetConfig.sd15(), UNetConfig.sd2(), TinySd.unetConfig(), TinySd2.unetConfig())) {
            LdmUnetNames names = new LdmUnetNames(c);
            try (Weights w = new Weights(new ShapeOnlyWeights(), Device.CPU, DType.F32)) {
                new UNet2DConditionModel(w, c);
                for (String n : w.loadedShapes().keySet()) {
                    String l = previousLdmName(n, c);
                    assertEquals(l, LdmNames.unet(n, c), n);
                    assertEquals(n, names.toDiffusers(l), l);
                }
            }
        }
    }

    /** LdmNames.unet as it was for SD 1.x / 2.x (parameter names only). */
    private static String previousLdmName(String name, UNetConfig c) {
        int per = c.layersPerBlock() + 1;
        String[] p = name.split("\\.", 5);
        switch (p[0]) {
            case "time_embedding":
                if (p[1].equals("linear_1")) return "time_embed.0." + p[2];
                if (p[1].equals("linear_2")) return "time_embed.2." + p[2];
                return null;
            case "conv_in": return "input_blocks.0.0." + p[1];
            case "conv_norm_out": return "out.0." + p[1];
            case "conv_out": return "out.2." + p[1];
            case "down_blocks": {
                int b = Integer.parseInt(p[1]), j = Integer.parseInt(p[3]);
                return switch (p[2]) {
                    case "resnets" -> "input_blocks." + (1 + b * per + j) + ".0." + previousResnet(p[4]);
                    case "attentions" -> "input_blocks." + (1 + b * per + j) + ".1." + p[4];
                    case "downsamplers" -> "input_blocks." + (1 + b * per + c.layersPerBlock()) + ".0.op." + p[4].substring("conv.".length());
                    default -> null;
                };
            }
            case "mid_block": {
                String rest = name.substring(p[0].length() + p[1].length() + p[2].length() + 3);
                int j = Integer.parseInt(p[2]);
                if (p[1].equals("resnets")) return "middle_block." + (2 * j) + "." + previousResnet(rest);
                return "middle_block.1." + rest;
            }
            case "up_blocks": {
                int b = Integer.parseInt(p[1]), j = Integer.parseInt(p[3]);
                return switch (p[2]) {
                    case "resnets" -> "output_blocks." + (b * per + j) + ".0." + previousResnet(p[4]);
                    case "attentions" -> "output_blocks." + (b * per + j) + ".1." + p[4];
                    case "upsamplers" -> "output_blocks." + (b * per + c.layersPerBlock()) + "."
                            + (c.upBlockTypes().get(b).equals(UNetConfig.CROSS_UP) ? 2 : 1) + "." + p[4];
                    default -> null;
                };
            }
            default: return null;
        }
    }

    private static String previousResnet(String rest) {
        String[] q = rest.split("\\.", 2);
        String m = switch (q[0]) {
            case "norm1" -> "in_layers.0";
            case "conv1" -> "in_layers.2";
            case "norm2" -> "out_layers.0";
            case "conv2" -> "out_layers.3";
            case "time_emb_proj" -> "emb_layers.1";
            case "conv_shortcut" -> "skip_connection";
            default -> q[0];
        };
        return m + "." + q[1];
    }
}
