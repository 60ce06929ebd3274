package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * {@link LoraResize} against kohya sd-scripts' own resize_lora.py: src/test/resources/lora-resize/ holds a LoRA with
 * known spectra (two linears, a 3x3 conv) and what kohya's script (sd-scripts 48d368fa, run by
 * {@code /tmp/ptenv/bin/python3 tools/kohya_resize_reference.py SD_SCRIPTS_DIR}) wrote for a fixed and each dynamic
 * method. Per module the rank, the scale alpha/rank, the effective delta and the metadata must agree. The one
 * intended difference: where kohya's dynamic index + 1 exceeds a module's old rank (sv_ratio 8 gives the rank-6 fc1
 * rank 7), kohya adds a zero component and we stop at the old rank; scale and delta are the same.
 */
class KohyaResizeParityTest {
    static final Path DIR = Path.of("src/test/resources/lora-resize");

    @ParameterizedTest
    @CsvSource({"fixed_r4_conv2, 4, 2, , 0", "sv_fro_0.9, 8, 8, sv_fro, 0.9", "sv_ratio_8, 8, 8, sv_ratio, 8",
            "sv_cumulative_0.8, 8, 8, sv_cumulative, 0.8"})
    void matchesKohya(String name, int rank, int convRank, String method, double param) throws Exception {
        LoraResize.Options o = new LoraResize.Options(rank, convRank, method == null ? null : LowRank.Dynamic.parse(method), param);
        try (Scope s = Scope.open(); var in = KohyaLoraReader.read(DIR.resolve("input.safetensors"));
             var kohya = KohyaLoraReader.read(DIR.resolve(name + ".safetensors")); var ours = LoraResize.resize(in, o)) {
            assertEquals(kohya.modules().keySet(), in.modules().keySet());
            for (KohyaLoraReader.Module m : ours.modules()) {
                KohyaLoraReader.Module k = kohya.modules().get(m.loraName());
                int oldRank = in.modules().get(m.loraName()).rank();
                assertEquals(Math.min(k.rank(), oldRank), m.rank(), m.loraName() + " rank");
                assertEquals(k.scale(), m.scale(), 1e-6, m.loraName() + " scale");
                Tensor dk = effective(k), dm = effective(m);
                double diff = dk.sub(dm).abs().amax().item();
                assertTrue(diff < 1e-4, m.loraName() + ": max |ours - kohya| " + diff);
            }
            Map<String, String> meta = LoraResize.metadata(in.metadata(), o, ours);
            for (String key : new String[] {"ss_network_dim", "ss_network_alpha", "ss_training_comment"}) {
                assertEquals(kohya.metadata().get(key), meta.get(key), key);
            }
        }
    }

    private static Tensor effective(KohyaLoraReader.Module m) {
        return m.up().reshape(m.up().size(0), m.rank()).mm(m.down().reshape(m.rank(), -1)).mul(m.scale());
    }
}
