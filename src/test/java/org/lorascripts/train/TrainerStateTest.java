package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** trainer_state.json: the exact bytes a checkpoint holds, and reading them back. */
class TrainerStateTest {
    @TempDir Path dir;

    private static TrainerState sample(double bestValLoss, long bestStep, double lastLoss) {
        return new TrainerState(30, 6, 2, 42, 3_000_000_000L, bestValLoss, bestStep, 1, 65536.0, 3, lastLoss,
                new LossWindow.Saved(4, 0.1f + 0.2), "adapter_model.safetensors",
                new ResumeKeys(Map.of("seed", "42", "lora_alpha", "1.0E-4", "b \"q\" é", "x\ty")));
    }

    private static final String KEYS_AND_HASH = """
              "adapter_file": "adapter_model.safetensors",
              "resume_keys": {
                "b \\"q\\" é": "x\\ty",
                "lora_alpha": "1.0E-4",
                "seed": "42"
              },
              "resume_keys_sha256": "f1847d3d93b1dd391ff61ec148e2107b93710c2f68eb85e8aa0540c000d5cb81"
            }
            """;

    /** Pinned to the bytes the writer before Jackson wrote: key order, indentation, Java's shortest doubles, null for NaN. */
    @Test void writesTheSameBytesAsBefore() {
        assertEquals("""
                {
                  "format": 1,
                  "step": 30,
                  "epoch": 6,
                  "step_in_epoch": 2,
                  "seed": 42,
                  "total_steps": 3000000000,
                  "best_val_loss": 0.4,
                  "best_step": 12,
                  "best_checkpoint": "step-12",
                  "early_stopping_bad_evaluations": 1,
                  "loss_scale": 65536.0,
                  "skipped_steps": 3,
                  "last_loss": 1.0E-7,
                  "log_window_steps": 4,
                  "log_window_loss_sum": 0.30000000149011613,
                """ + KEYS_AND_HASH, new String(sample(0.4, 12, 1e-7).toJson(), StandardCharsets.UTF_8));
        assertEquals("""
                {
                  "format": 1,
                  "step": 30,
                  "epoch": 6,
                  "step_in_epoch": 2,
                  "seed": 42,
                  "total_steps": 3000000000,
                  "best_val_loss": null,
                  "best_step": -1,
                  "best_checkpoint": null,
                  "early_stopping_bad_evaluations": 1,
                  "loss_scale": 65536.0,
                  "skipped_steps": 3,
                  "last_loss": null,
                  "log_window_steps": 4,
                  "log_window_loss_sum": 0.30000000149011613,
                """ + KEYS_AND_HASH, new String(sample(Double.NaN, -1, Double.POSITIVE_INFINITY).toJson(), StandardCharsets.UTF_8));
    }

    @Test void readsBackWhatItWrote() throws IOException {
        TrainerState s = sample(0.4, 12, 1e-7);
        Path f = Files.write(dir.resolve(TrainerState.FILE_NAME), s.toJson());
        TrainerState back = TrainerState.read(f);
        assertEquals(s, back);
        TrainerState never = TrainerState.read(Files.write(f, sample(Double.NaN, -1, Double.NaN).toJson()));
        assertTrue(Double.isNaN(never.bestValLoss()) && Double.isNaN(never.lastLoss()), "null reads as NaN");
        assertFalse(never.hasBest());
    }

    @Test void aDamagedFileIsNamedInOneLine() throws IOException {
        Path f = dir.resolve(TrainerState.FILE_NAME);
        Files.writeString(f, new String(sample(0.4, 12, 1e-7).toJson(), StandardCharsets.UTF_8).replace("\"step\": 30", "\"step\": 30.0"));
        assertEquals(f + ": 'step' is missing or has the wrong type; the checkpoint is damaged",
                assertThrows(TrainingException.class, () -> TrainerState.read(f)).getMessage());
        Files.writeString(f, "{\"step\": 1,");
        String m = assertThrows(IOException.class, () -> TrainerState.read(f)).getMessage();
        assertTrue(m.startsWith(f + ": not valid JSON: ") && !m.contains("\n"), m);
        Files.writeString(f, "[]");
        assertEquals(f + ": not a JSON object; the checkpoint is damaged",
                assertThrows(TrainingException.class, () -> TrainerState.read(f)).getMessage());
    }
}
