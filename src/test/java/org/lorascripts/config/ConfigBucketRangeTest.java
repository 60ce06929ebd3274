package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resolution outside the default bucket range moves the defaulted bound with a note; a bound the
 * user set is kept and a conflict with it is an error that says what to set.
 */
class ConfigBucketRangeTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\n";

    @Test void aSmallResolutionLowersTheDefaultMinBucketWithANote() {
        LoadedConfig l = load(dir, MINIMAL + "resolution: 128\n");
        assertEquals(128, l.config().image().buckets().minReso());
        assertEquals(1024, l.config().image().buckets().maxReso());
        assertEquals(List.of(new ConfigWarning("min_bucket_reso", "min_bucket_reso 128 (instead of the default 256) so that buckets"
                + " hold resolution 128; set min_bucket_reso to choose another")), l.warnings());
        assertEquals(Origin.file(dir.resolve("my.yaml").toString(), 3), l.values().origin("min_bucket_reso"), "named at the resolution line");
        assertEquals(192, load(dir, MINIMAL + "resolution: \"200,640\"\n").config().image().buckets().minReso(), "rounded down to the steps");
    }

    @Test void aLargeResolutionRaisesTheDefaultMaxBucketWithANote() {
        LoadedConfig l = load(dir, MINIMAL + "resolution: \"1536,1024\"\n");
        assertEquals(1536, l.config().image().buckets().maxReso());
        assertEquals("max_bucket_reso 1536 (instead of the default 1024) so that buckets hold resolution 1536,1024;"
                + " set max_bucket_reso to choose another", l.warnings().getFirst().message());
    }

    @Test void aBoundTheUserSetIsKept() {
        assertEquals("my.yaml:3: resolution 128 is below min_bucket_reso 256 (set at my.yaml:4); set min_bucket_reso: 128 or"
                + " enable_bucket: false", error(dir, MINIMAL + "resolution: 128\nmin_bucket_reso: 256\n"));
        assertEquals("my.yaml:3: resolution 2048 is above max_bucket_reso 1024 (set at my.yaml:4); set max_bucket_reso: 2048 or"
                + " enable_bucket: false", error(dir, MINIMAL + "resolution: 2048\nmax_bucket_reso: 1024\n"));
        assertEquals(64, load(dir, MINIMAL + "resolution: 128\nmin_bucket_reso: 64\n").config().image().buckets().minReso());
        assertEquals(List.of(), load(dir, MINIMAL + "resolution: 128\nmin_bucket_reso: 64\n").warnings(), "no note: nothing was changed");
    }

    @Test void belowTheSmallestPossibleBucketSaysToTurnBucketsOff() {
        assertEquals("my.yaml:3: resolution 32 is below min_bucket_reso 256 (the default); set enable_bucket: false",
                error(dir, MINIMAL + "resolution: 32\n"));
        assertEquals(256, load(dir, MINIMAL + "resolution: 32\nenable_bucket: false\n").config().image().buckets().minReso(),
                "without buckets the range is not used, so it is left alone");
    }
}
