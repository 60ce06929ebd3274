package org.lorascripts.train;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.config.OptimizerType;
import org.lorascripts.config.TrainConfig;

/**
 * The settings a run cannot change when it resumes: they decide which examples each step sees,
 * the shape of the adapter and what the loss means, so a checkpoint continued under other values
 * would silently be a different run. epochs, max_steps and the schedule length may change
 * ("train 5 epochs, look, then add more").
 */
record ResumeKeys(Map<String, String> values) {
    /** The optimizer's state does not carry over to another optimizer. */
    static final String OPTIMIZER = "optimizer";
    static final String USE_DORA = "use_dora";

    ResumeKeys {
        values = Map.copyOf(new LinkedHashMap<>(values));
    }

    static ResumeKeys of(TrainConfig c, int trainSize, int valSize) { return of(c, trainSize, valSize, 1); }

    /**
     * For a run on {@code worldSize} data-parallel ranks a step is gradient_accumulation_steps x worldSize
     * micro-batches of the global order, which is what decides the examples of each step: a checkpoint of 2
     * ranks with accumulation 1 continues on one process with accumulation 2, and the reverse.
     */
    static ResumeKeys of(TrainConfig c, int trainSize, int valSize, int worldSize) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("task_type", c.taskType().configName());
        m.put("base_model", String.valueOf(c.model().baseModel()));
        m.put("lora_rank", Integer.toString(c.lora().rank()));
        m.put("lora_alpha", Double.toString(c.lora().alpha()));
        m.put("conv_rank", Integer.toString(c.lora().convRank()));
        m.put("batch_size", Integer.toString(c.loop().batchSize()));
        m.put("gradient_accumulation_steps", Integer.toString(c.loop().gradientAccumulationSteps() * worldSize));
        m.put("seed", Long.toString(c.loop().seed()));
        m.put("train examples", Integer.toString(trainSize));
        m.put("validation examples", Integer.toString(valSize));
        // absent for AdamW, so checkpoints written before there was a choice keep their hash
        if (c.optimizer().type() != OptimizerType.ADAMW) m.put(OPTIMIZER, c.optimizer().type().configName());
        // absent for plain LoRA, likewise: a DoRA checkpoint holds magnitude vectors a LoRA run has no place for
        if (c.lora().useDora()) m.put(USE_DORA, "true");
        return new ResumeKeys(m);
    }

    /** SHA-256 over the sorted key=value lines: a quick equality check that survives key order. */
    String hash() {
        StringBuilder sb = new StringBuilder();
        values.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> sb.append(e.getKey()).append('=').append(e.getValue()).append('\n'));
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * Throws a {@link TrainingException} naming the first key whose value differs from the one the
     * checkpoint was written with.
     */
    void requireSameAs(ResumeKeys saved, String checkpoint) {
        if (saved.hash().equals(hash())) return;
        Map<String, String> now = new LinkedHashMap<>(values);
        Map<String, String> then = new LinkedHashMap<>(saved.values());
        now.putIfAbsent(OPTIMIZER, OptimizerType.ADAMW.configName());
        then.putIfAbsent(OPTIMIZER, OptimizerType.ADAMW.configName());
        now.putIfAbsent(USE_DORA, "false");
        then.putIfAbsent(USE_DORA, "false");
        for (var e : now.entrySet()) {
            String before = then.get(e.getKey());
            if (before != null && !before.equals(e.getValue())) {
                throw new TrainingException("cannot resume from " + checkpoint + ": " + e.getKey() + " was " + before
                        + " when it was saved and is " + e.getValue() + " now; " + e.getKey()
                        + " must not change on resume (set it back, or start a new run in another output_dir)");
            }
        }
        throw new TrainingException("cannot resume from " + checkpoint + ": it was saved with settings "
                + saved.values() + " that do not match this run's " + values + "; start a new run in another output_dir");
    }
}
