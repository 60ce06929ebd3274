package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * {@link LoraResize} against Eckart–Young: modules are built with known singular values (orthonormal bases
 * from the SVD of random matrices), so the best rank-R approximation and its error are known exactly.
 */
class LoraResizeTest {
    @TempDir Path dir;

    static final double[] SV = {4, 3, 2, 1};

    /** A module whose unscaled delta up·down = U diag(SV) V^T, flattened input size {@code in}. */
    static KohyaLoraReader.Module module(String name, long out, long[] downShape, double alpha, Tensor[] basesOut) {
        long in = 1;
        for (int i = 1; i < downShape.length; i++) in *= downShape[i];
        Tensor u = Torch.randn(out, 4).svd().u();
        Tensor v = Torch.randn(in, 4).svd().u();
        basesOut[0] = u;
        basesOut[1] = v;
        Tensor up = u.mul(Torch.of(new float[] {4, 3, 2, 1}));
        Tensor down = v.mT().contiguous();
        long[] upShape = downShape.length == 4 ? new long[] {out, 4, 1, 1} : new long[] {out, 4};
        return new KohyaLoraReader.Module(name, down.reshape(downShape).keep(), up.reshape(upShape).keep(), alpha, true);
    }

    @Test
    void resizedDeltaIsTheBestRankRApproximation() throws Exception {
        Rng.manualSeed(11);
        try (Scope s = Scope.open()) {
            Tensor[] lin = new Tensor[2], conv = new Tensor[2];
            var a = module("lora_unet_a_proj", 6, new long[] {4, 5}, 2.0, lin);          // scale 0.5
            var c = module("lora_unet_b_conv", 7, new long[] {4, 3, 3, 3}, 8.0, conv);   // scale 2
            Path file = dir.resolve("in.safetensors");
            KohyaLoraWriter.writeModules(file, List.of(a, c), DType.F32, Map.of("ss_network_dim", "4", "ss_network_alpha", "2.0",
                    "ss_training_comment", "trained"));
            LoraResize.Options opts = new LoraResize.Options(2, 3, null, 0);
            try (var in = KohyaLoraReader.read(file); var r = LoraResize.resize(in, opts)) {
                var ra = r.modules().get(0);
                var rc = r.modules().get(1);
                assertEquals("lora_unet_a_proj", ra.loraName());
                assertArrayEquals(new long[] {2, 5}, ra.down().shape());
                assertArrayEquals(new long[] {6, 2}, ra.up().shape());
                assertArrayEquals(new long[] {3, 3, 3, 3}, rc.down().shape());
                assertArrayEquals(new long[] {7, 3, 1, 1}, rc.up().shape());
                // alpha keeps the scale: 0.5 * 2 and 2 * 3
                assertEquals(1.0, ra.alpha(), 1e-12);
                assertEquals(6.0, rc.alpha(), 1e-12);
                // effective delta = best rank-R approximation, scale * U_R diag(S_R) V_R^T
                assertClose(best(lin, 2, 0.5), effective(ra), 1e-5);
                assertClose(best(conv, 3, 2.0), effective(rc), 1e-5);
                // error = scale * sqrt(sum of the discarded S^2) and equals the actual distance to the old delta
                var repA = r.reports().get(0);
                assertEquals(0.5 * Math.sqrt(4 + 1), repA.error(), 1e-5);
                assertEquals(repA.error(), effective(a).sub(effective(ra)).norm().item(), 1e-4);
                assertEquals(Math.sqrt(25.0 / 30), repA.froRetained(), 1e-6);
                assertEquals(7.0 / 10, repA.sumRetained(), 1e-6);
                var repC = r.reports().get(1);
                assertEquals(2.0 * 1, repC.error(), 1e-5);
                assertEquals(repC.error(), effective(c).sub(effective(rc)).norm().item(), 1e-4);
                var meta = LoraResize.metadata(in.metadata(), opts, r);
                assertEquals("2", meta.get("ss_network_dim"));
                assertEquals("dimension is resized from 4 to 2 (conv: 3); trained", meta.get("ss_training_comment"));

                Path outFile = dir.resolve("out.safetensors");
                KohyaLoraWriter.writeModules(outFile, r.modules(), DType.F16, meta);
                try (SafetensorsFile f = SafetensorsFile.open(outFile)) {
                    assertEquals(List.of("lora_unet_a_proj.alpha", "lora_unet_a_proj.lora_down.weight", "lora_unet_a_proj.lora_up.weight",
                            "lora_unet_b_conv.alpha", "lora_unet_b_conv.lora_down.weight", "lora_unet_b_conv.lora_up.weight"),
                            f.names().stream().sorted().toList());
                    assertEquals(DType.F16, f.info("lora_unet_a_proj.lora_up.weight").dtype());
                    assertTrue(f.metadata().containsKey("sshs_model_hash"));
                }
            }
            a.down().close(); a.up().close(); c.down().close(); c.up().close();
        }
    }

    @Test
    void sameRankKeepsTheAlphaInMetadata() throws Exception {
        Rng.manualSeed(12);
        try (Scope s = Scope.open()) {
            var a = module("lora_te_x", 6, new long[] {4, 5}, 4.0, new Tensor[2]);
            Path file = dir.resolve("in.safetensors");
            KohyaLoraWriter.writeModules(file, List.of(a), DType.F32, Map.of());
            var opts = new LoraResize.Options(2, 2, null, 0);
            try (var in = KohyaLoraReader.read(file); var r = LoraResize.resize(in, opts)) {
                // kohya writes new_alpha = scale * new_rank = 1 * 2 as str(float)
                assertEquals("2.0", LoraResize.metadata(in.metadata(), opts, r).get("ss_network_alpha"));
            }
        }
    }

    /** Dynamic ranks for S = (4, 3, 2, 1) in a 6x5 delta (len(S) = 5 in kohya's full SVD), worked by hand from kohya's rank_resize. */
    @Test
    void dynamicRanksFollowKohya() {
        double[] s = SV;
        // sv_fro 0.9: cumsum(S^2)/30 = .533, .833, .967, 1, 1; first >= 0.81 at 1; index 2, rank 3
        assertEquals(3, LowRank.chooseRank(s, 5, 8, LowRank.Dynamic.SV_FRO, 0.9));
        // sv_cumulative 0.75: cumsum(S)/10 = .4, .7, .9, 1, 1; first >= .75 at 2; index 3, rank 4
        assertEquals(4, LowRank.chooseRank(s, 5, 8, LowRank.Dynamic.SV_CUMULATIVE, 0.75));
        // sv_ratio 2.5: S > 4/2.5 = 1.6 for 3 values; index 3, rank 4; capped by the max rank 2
        assertEquals(4, LowRank.chooseRank(s, 5, 8, LowRank.Dynamic.SV_RATIO, 2.5));
        assertEquals(2, LowRank.chooseRank(s, 5, 2, LowRank.Dynamic.SV_RATIO, 2.5));
        // sv_ratio 1: nothing above S[0]; index clamped to 1, rank 2
        assertEquals(2, LowRank.chooseRank(s, 5, 8, LowRank.Dynamic.SV_RATIO, 1));
        // sv_cumulative 1.5: never reached; searchsorted gives len(S) = 5 + 1, clamped to 4, rank 5
        assertEquals(5, LowRank.chooseRank(s, 5, 8, LowRank.Dynamic.SV_CUMULATIVE, 1.5));
        // a zero matrix gets rank 1
        assertEquals(1, LowRank.chooseRank(new double[] {0, 0}, 5, 8, null, 0));
    }

    private static Tensor best(Tensor[] bases, int r, double scale) {
        Tensor u = bases[0].narrow(1, 0, r), v = bases[1].narrow(1, 0, r);
        float[] sv = new float[r];
        for (int i = 0; i < r; i++) sv[i] = (float) SV[i];
        return u.mul(Torch.of(sv)).mm(v.mT()).mul(scale);
    }

    /** scale · up · down as a 2-D matrix. */
    static Tensor effective(KohyaLoraReader.Module m) {
        long out = m.up().size(0);
        return m.up().reshape(out, m.rank()).mm(m.down().reshape(m.rank(), -1)).mul(m.scale());
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol) {
        double diff = expected.sub(actual).abs().amax().item();
        assertTrue(diff < tol, "max |diff| " + diff);
    }
}
