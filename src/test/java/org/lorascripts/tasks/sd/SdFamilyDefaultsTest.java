package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.models.sd.SdFamily;

/** The family-dependent defaults: SDXL's bucket range (resolution/2 to resolution*2), text_encoder_lr per encoder. */
class SdFamilyDefaultsTest {
    private static TrainConfig config(Object... kv) {
        Map<String, Object> m = new HashMap<>(Map.of("base_model", "builtin:tiny-sd", "train_data_dir", Path.of("data").toAbsolutePath().toString()));
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return TrainConfig.of(m);
    }

    private static List<Integer> range(TrainConfig c, SdFamily f) {
        TrainConfig.Buckets b = SdFamilyDefaults.buckets(c, f);
        return List.of(b.minReso(), b.maxReso());
    }

    @Test void sdxlBucketsFollowTheResolutionUnlessSet() {
        assertEquals(List.of(512, 2048), range(config("resolution", 1024), SdFamily.SDXL), "kohya's SDXL recipe");
        assertEquals(List.of(32, 128), range(config("resolution", 64), SdFamily.SDXL), "also where the config fitted min to 64");
        assertEquals(List.of(384, 2048), range(config("resolution", "768,1024"), SdFamily.SDXL), "shorter side / 2, longer side * 2");
        assertEquals(List.of(256, 2048), range(config("resolution", 1024, "min_bucket_reso", 256), SdFamily.SDXL));
        assertEquals(List.of(512, 1024), range(config("resolution", 1024, "max_bucket_reso", 1024), SdFamily.SDXL));
        assertEquals(List.of(320, 1536), range(config("resolution", 1024, "min_bucket_reso", 320, "max_bucket_reso", 1536), SdFamily.SDXL));
    }

    @Test void sd1AndSd2KeepTheConfigsBuckets() {
        for (SdFamily f : List.of(SdFamily.SD1, SdFamily.SD2)) {
            assertEquals(List.of(256, 1024), range(config("resolution", 512), f));
            assertEquals(List.of(64, 1024), range(config("resolution", 64), f), "the config's fit to a small resolution");
            assertEquals(List.of(256, 1024), range(config("resolution", 1024), f));
            TrainConfig c = config("resolution", 64);
            assertSame(c, SdFamilyDefaults.resolve(c, f));
        }
    }

    @Test void thePlanSaysWhichRangeAndWhy() {
        assertEquals("512-2048 (SDXL default: resolution/2 to resolution*2)", SdFamilyDefaults.bucketRange(config("resolution", 1024), SdFamily.SDXL));
        assertEquals("256-2048 (min_bucket_reso set, max_bucket_reso SDXL default)",
                SdFamilyDefaults.bucketRange(config("resolution", 1024, "min_bucket_reso", 256), SdFamily.SDXL));
        assertEquals("256-1024 (default)", SdFamilyDefaults.bucketRange(config("resolution", 512), SdFamily.SD1));
        TrainConfig resolved = SdFamilyDefaults.resolve(config("resolution", 64), SdFamily.SDXL);
        assertEquals(32, resolved.image().buckets().minReso());
        assertEquals(128, resolved.image().buckets().maxReso());
    }

    @Test void twoTextEncoderRatesOnOneEncoderWarnAndUseTheFirst() {
        TrainConfig two = config("train_text_encoder", true, "text_encoder_lr", List.of(1e-5, 5e-6));
        Optional<String> w = SdFamilyDefaults.textEncoderLrWarning(two, SdFamily.SD1);
        assertTrue(w.isPresent() && w.get().startsWith("text_encoder_lr has 2 values but Stable Diffusion 1.x has one text encoder;"
                + " it trains at the first, 1e-5"), w.toString());
        assertEquals(Optional.empty(), SdFamilyDefaults.textEncoderLrWarning(two, SdFamily.SDXL));
        assertEquals(Optional.empty(), SdFamilyDefaults.textEncoderLrWarning(config("train_text_encoder", true, "text_encoder_lr", 1e-5), SdFamily.SD1));
    }
}
