package org.lorascripts.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;

/**
 * The loop's own counters in a checkpoint ({@code trainer_state.json}), readable by people and
 * scripts; the tensors (weights, optimizer, RNG) are in {@code trainer_state.safetensors}.
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
        Map<String, JsonValue> m = new LinkedHashMap<>();
        m.put("format", JsonValue.of(FORMAT));
        m.put("step", JsonValue.of(step));
        m.put("epoch", JsonValue.of(epoch));
        m.put("step_in_epoch", JsonValue.of(stepInEpoch));
        m.put("seed", JsonValue.of(seed));
        m.put("total_steps", JsonValue.of(totalSteps));
        m.put("best_val_loss", number(bestValLoss));
        m.put("best_step", JsonValue.of(bestStep));
        m.put("best_checkpoint", hasBest() ? JsonValue.of(CheckpointStore.dirName(bestStep)) : JsonValue.Null.INSTANCE);
        m.put("early_stopping_bad_evaluations", JsonValue.of(badEvaluations));
        m.put("loss_scale", number(lossScale));
        m.put("skipped_steps", JsonValue.of(skippedSteps));
        m.put("last_loss", number(lastLoss));
        m.put("log_window_steps", JsonValue.of(logWindow.steps()));
        m.put("log_window_loss_sum", number(logWindow.lossSum()));
        m.put("adapter_file", JsonValue.of(adapterFile));
        Map<String, JsonValue> keys = new LinkedHashMap<>();
        resumeKeys.values().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> keys.put(e.getKey(), JsonValue.of(e.getValue())));
        m.put("resume_keys", new JsonValue.Obj(keys));
        m.put("resume_keys_sha256", JsonValue.of(resumeKeys.hash()));
        return (JsonWriter.writePretty(new JsonValue.Obj(m)) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static JsonValue number(double v) { return Double.isFinite(v) ? JsonValue.of(v) : JsonValue.Null.INSTANCE; }

    static TrainerState read(Path file) throws IOException {
        JsonValue root = JsonReader.parse(file);
        if (!(root instanceof JsonValue.Obj o)) throw new TrainingException(file + ": not a JSON object; the checkpoint is damaged");
        Reader r = new Reader(o, file);
        Map<String, String> keys = new LinkedHashMap<>();
        if (!(o.get("resume_keys") instanceof JsonValue.Obj k)) throw r.missing("resume_keys");
        for (var e : k.members().entrySet()) {
            if (!(e.getValue() instanceof JsonValue.Str s)) throw r.missing("resume_keys." + e.getKey());
            keys.put(e.getKey(), s.value());
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

    /** Typed member access with errors that name the file and the key. */
    private record Reader(JsonValue.Obj o, Path file) {
        TrainingException missing(String key) {
            return new TrainingException(file + ": '" + key + "' is missing or has the wrong type; the checkpoint is damaged");
        }

        long integer(String key) {
            if (o.get(key) instanceof JsonValue.Int i) return i.value();
            throw missing(key);
        }

        double numberOrNaN(String key) {
            return switch (o.get(key)) {
                case JsonValue.Int i -> i.value();
                case JsonValue.Dec d -> d.value();
                case JsonValue.Null n -> Double.NaN;
                case null, default -> throw missing(key);
            };
        }

        String string(String key) {
            if (o.get(key) instanceof JsonValue.Str s) return s.value();
            throw missing(key);
        }
    }
}
