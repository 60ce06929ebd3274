package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.sd.clip.TinySdxlText;
import org.lorascripts.models.sd.load.TinySdxl;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The SDXL side of tools/parity/sd_parity.py: every output the script compares exists, with diffusers' shapes, and follows the inputs file. */
class SdParityDumpTest {
    @TempDir Path dir;

    @Test void sdxlDiffusersFolderGivesEveryComparedOutput() throws Exception {
        Path model = TinySdxl.writeCompleteDiffusers(dir.resolve("sdxl"));
        Path first = dir.resolve("seeded.safetensors");
        Map<String, long[]> shapes = SdParityDump.dump(model, first, null, Device.CPU, DType.F32);

        long ctx = TinySdxlText.TE1_WIDTH + TinySdxlText.TE2_WIDTH;
        Map<String, long[]> want = new LinkedHashMap<>();
        want.put("latents", new long[] {2, 4, 8, 12});
        want.put("timesteps", new long[] {2});
        want.put("encoder_hidden_states", new long[] {2, 77, ctx});
        want.put("text_embeds", new long[] {2, TinySdxlText.TE2_PROJECTION});
        want.put("time_ids", new long[] {2, 6});
        want.put(SdParityDump.TE1_IDS, new long[] {2, 77});
        want.put(SdParityDump.TE2_IDS, new long[] {2, 77});
        want.put("unet_out", new long[] {2, 4, 8, 12});
        want.put("unet_out_odd", new long[] {2, 4, 9, 7});
        want.put("vae_mean", new long[] {2, 4, 8, 12});
        want.put("vae_logvar", new long[] {2, 4, 8, 12});
        want.put("vae_latents", new long[] {2, 4, 8, 12});
        want.put("vae_decoded", new long[] {2, 3, 16, 24});
        want.put("te1_penultimate", new long[] {2, 77, TinySdxlText.TE1_WIDTH});
        want.put("te2_penultimate", new long[] {2, 77, TinySdxlText.TE2_WIDTH});
        want.put("te2_pooled", new long[] {2, TinySdxlText.TE2_PROJECTION});
        for (var e : want.entrySet()) {
            assertTrue(shapes.containsKey(e.getKey()), "missing output " + e.getKey() + " in " + shapes.keySet());
            assertArrayEquals(e.getValue(), shapes.get(e.getKey()), e.getKey());
        }

        // the same inputs read back from the file, but other time ids: only the UNet's outputs move
        Path inputs = dir.resolve("inputs.safetensors"), second = dir.resolve("from-file.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> a = readAll(first), in = new LinkedHashMap<>();
            for (String n : List.of("latents", "latents_odd", "timesteps", "encoder_hidden_states", "images", "vae_noise", "text_embeds",
                    SdParityDump.TE1_IDS, SdParityDump.TE2_IDS)) {
                in.put(n, a.get(n));
            }
            in.put("time_ids", Torch.of(new float[] {512, 512, 0, 0, 1024, 1024, 2048, 640, 0, 128, 1024, 1024}, 2, 6));
            TensorIO.save(inputs, in, Map.of());
            SdParityDump.dump(model, second, inputs, Device.CPU, DType.F32);
            Map<String, Tensor> b = readAll(second);
            for (var e : a.entrySet()) {
                if (want.containsKey(e.getKey()) && e.getValue().dtype() == DType.F32) {
                    assertTrue(e.getValue().isfinite().all().item() != 0, e.getKey() + " has non-finite values");
                }
            }
            for (String n : List.of("vae_mean", "vae_logvar", "vae_latents", "vae_decoded", "te1_penultimate", "te2_penultimate", "te2_pooled")) {
                assertEquals(0.0, maxAbsDiff(a.get(n), b.get(n)), 1e-6, n + " should not depend on the time ids");
            }
            for (String n : List.of("unet_out", "unet_out_odd")) {
                assertTrue(maxAbsDiff(a.get(n), b.get(n)) > 1e-4, n + " did not change with the time ids read from the inputs file");
            }
        }
    }

    @Test void sdxlLoraStepWritesStartValuesAndGradientsOfEveryAdapter() throws Exception {
        Path model = TinySdxl.writeCompleteDiffusers(dir.resolve("sdxl"));
        Path seeded = dir.resolve("seeded.safetensors"), inputs = dir.resolve("inputs.safetensors"), out = dir.resolve("grads.safetensors");
        SdParityDump.dump(model, seeded, null, Device.CPU, DType.F32);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> in = readAll(seeded);
            in.put("target", Torch.randn(new long[] {2, 4, 8, 12}, DType.F32, Device.CPU));
            TensorIO.save(inputs, in, Map.of());
            int n = SdxlLoraGradDump.dump(model, out, inputs, Device.CPU);
            Map<String, Tensor> g = readAll(out);
            assertTrue(n > 0, "no adapters");
            assertArrayEquals(new long[] {1}, g.get("lora_loss").shape());
            assertArrayEquals(new long[] {2, 4, 8, 12}, g.get("lora_unet_out").shape());
            long adapters = g.keySet().stream().filter(k -> k.endsWith(".lora_down.weight")).count();
            assertEquals(n, adapters);
            assertEquals(2 + 4L * n, g.size(), "per adapter: down/up weights and grads, besides loss and output: " + g.keySet());
            for (String k : g.keySet()) {
                if (!k.endsWith(".lora_down.weight")) continue;
                String m = k.substring(0, k.length() - ".lora_down.weight".length());
                assertTrue(m.matches(".*\\.attentions\\.\\d+\\..*"), "adapter outside a transformer block: " + m);
                for (String part : List.of("down", "up")) {
                    Tensor w = g.get(m + ".lora_" + part + ".weight"), grad = g.get(m + ".lora_" + part + ".grad");
                    assertArrayEquals(w.shape(), grad.shape(), m + " " + part);
                    assertTrue(grad.isfinite().all().item() != 0, m + " " + part + " gradient is not finite");
                }
                assertTrue(g.get(m + ".lora_down.grad").abs().amax().item() > 0, m + ": the down matrix got no gradient (up left at zero?)");
            }
        }
    }

    private static Map<String, Tensor> readAll(Path file) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) m.put(n, TensorIO.read(f, n));
        }
        return m;
    }

    private static double maxAbsDiff(Tensor a, Tensor b) { return a.sub(b).abs().amax().item(); }
}
