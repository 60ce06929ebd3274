package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.TrainConfig;

/** A checkpoint's optimizer state does not carry over to another optimizer, 8-bit or not. */
class ResumeKeysTest {
    private static ResumeKeys keys(Map<String, Object> settings) {
        Map<String, Object> m = new LinkedHashMap<>(settings);
        m.putIfAbsent("train_data_dir", System.getProperty("java.io.tmpdir"));
        m.putIfAbsent("base_model", "builtin:tiny-sd");
        return ResumeKeys.of(TrainConfig.of(m), 10, 0);
    }

    @Test void adamwAndAdamw8bitCheckpointsDoNotMix() {
        ResumeKeys adamw = keys(Map.of());
        ResumeKeys eight = keys(Map.of("optimizer", "adamw8bit"));
        assertNotEquals(adamw.hash(), eight.hash());
        TrainingException e = assertThrows(TrainingException.class, () -> eight.requireSameAs(adamw, "out/checkpoint-4"));
        assertTrue(e.getMessage().contains("optimizer was adamw when it was saved and is adamw8bit now"), e.getMessage());
        e = assertThrows(TrainingException.class, () -> adamw.requireSameAs(eight, "out/checkpoint-4"));
        assertTrue(e.getMessage().contains("optimizer was adamw8bit when it was saved and is adamw now"), e.getMessage());
        // kohya's PagedAdamW8bit is the same optimizer: its checkpoints resume under adamw8bit
        assertEquals(eight.hash(), keys(Map.of("optimizer_type", "PagedAdamW8bit")).hash());
        eight.requireSameAs(keys(Map.of("optimizer_type", "AdamW8bit")), "out/checkpoint-4");
    }
}
