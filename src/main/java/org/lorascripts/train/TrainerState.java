package org.lorascripts.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.Json;

/**
 * The loop's own counters in a checkpoint ({@code trainer_state.json}), readable by people and
 * scripts; the tensors (weights, optimizer, RNG) are in {@code trainer_state.safetensors}.
 * Written by {@link Json#writePretty} with the keys in the order below; losses that are NaN or
 * infinite are written as null (JSON has no spelling for them) and read back as NaN.
 *
 * @param step           optimizer steps completed
 * @param epoch          epoch (0-based) the next step belongs to
 * @param stepInEpoch    position of the next step within that epoch
 * @param totalSteps     the run length planned when this was saved (a resumed run may plan more)
 * @param bestValLoss    lowest validation loss so far, NaN when never evaluated
 * @param bestStep       step of {@code bestValLoss}, -1 when never evaluated
 * @param badEvaluations evaluations since the last improvement (early stopping counter)
 * @param lossScale      fp16 loss scale (1 without fp16)
 * @param skippedSteps   optimizer steps skipped for inf/nan gradients
 * @param lastLoss       train loss of the last step
 * @param logWindow      the train losses since the last logged row, so that the first row after a
 *                       resume covers its whole window; older checkpoints lack it and read as empty
 */
record TrainerState(long step, int epoch, int stepInEpoch, long seed, long totalSteps, double bestValLoss,
                    long bestStep, int badEvaluations, double lossScale, long skippedSteps, double lastLoss,
                    LossWindow.Saved logWindow, String adapterFile, ResumeKeys resumeKeys) {
    static final String FILE_NAME = "trainer_state.json";
    static final int FORMAT = 1;

    boolean hasBest() { return bestStep >= 0; }

    byte[] toJson() {
        ObjectNode m = Json.object();
        m.put("format", FORMAT);
        m.put("step", step);
        m.put("epoch", epoch);
        m.put("step_in_epoch", stepInEpoch);
        m.put("seed", seed);
        m.put("total_steps", totalSteps);
        m.set("best_val_loss", Json.numberOrNull(bestValLoss));
        m.put("best_step", bestStep);
        m.put("best_checkpoint", hasBest() ? CheckpointStore.dirName(bestStep) : null);
        m.put("early_stopping_bad_evaluations", badEvaluations);
        m.set("loss_scale", Json.numberOrNull(lossScale));
        m.put("skipped_steps", skippedSteps);
        m.set("last_loss", Json.numberOrNull(lastLoss));
        m.put("log_window_steps", logWindow.steps());
        m.set("log_window_loss_sum", Json.numberOrNull(logWindow.lossSum()));
        m.put("adapter_file", adapterFile);
        ObjectNode keys = m.putObject("resume_keys");
        resumeKeys.values().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> keys.put(e.getKey(), e.getValue()));
        m.put("resume_keys_sha256", resumeKeys.hash());
        return (Json.writePretty(m) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    static TrainerState read(Path file) throws IOException {
        JsonNode root = Json.read(file);
        if (!(root instanceof ObjectNode o)) throw new TrainingException(file + ": not a JSON object; the checkpoint is damaged");
        Reader r = new Reader(o, file);
        Map<String, String> keys = new LinkedHashMap<>();
        if (!(o.get("resume_keys") instanceof ObjectNode k)) throw r.missing("resume_keys");
        for (var e : k.properties()) {
            if (!e.getValue().isTextual()) throw r.missing("resume_keys." + e.getKey());
            keys.put(e.getKey(), e.getValue().textValue());
        }
        return new TrainerState(r.integer("step"), (int) r.integer("epoch"), (int) r.integer("step_in_epoch"),
                r.integer("seed"), r.integer("total_steps"), r.numberOrNaN("best_val_loss"), r.integer("best_step"),
                (int) r.integer("early_stopping_bad_evaluations"), r.numberOrNaN("loss_scale"),
                r.integer("skipped_steps"), r.numberOrNaN("last_loss"), logWindow(r), r.string("adapter_file"),
                new ResumeKeys(keys));
    }

    /** Absent in checkpoints written before it was saved: an empty window, so the next row is marked partial. */
    private static LossWindow.Saved logWindow(Reader r) {
        if (r.o().get("log_window_steps") == null) return LossWindow.Saved.EMPTY;
        return new LossWindow.Saved((int) r.integer("log_window_steps"), r.numberOrNaN("log_window_loss_sum"));
    }

    /**
     * Typed member access with errors that name the file and the key. Stricter than JsonFields on
     * purpose: this file is only ever written by {@link #toJson}, so an integer written as 4.0 or
     * past 64 bits means damage, not another writer's style.
     */
    private record Reader(ObjectNode o, Path file) {
        TrainingException missing(String key) {
            return new TrainingException(file + ": '" + key + "' is missing or has the wrong type; the checkpoint is damaged");
        }

        long integer(String key) {
            JsonNode v = o.get(key);
            if (v != null && v.isIntegralNumber() && v.canConvertToLong()) return v.longValue();
            throw missing(key);
        }

        double numberOrNaN(String key) {
            JsonNode v = o.get(key);
            if (v != null && v.isNumber()) return v.doubleValue();
            if (v != null && v.isNull()) return Double.NaN;
            throw missing(key);
        }

        String string(String key) {
            JsonNode v = o.get(key);
            if (v != null && v.isTextual()) return v.textValue();
            throw missing(key);
        }
    }
}
