package org.lorascripts.config;

/**
 * How many optimizer steps a run takes. Rounding follows HF accelerate/transformers: the last,
 * partial micro-batch of an epoch is kept ({@code ceil(trainExamples / batchSize)} micro-batches),
 * and a partial accumulation group still makes a step
 * ({@code stepsPerEpoch = ceil(microBatches / gradientAccumulationSteps)}).
 * Validation split: {@code valExamples = floor(examples * val_ratio)}, at least 1 when
 * val_ratio > 0 and at least one example stays for training. With aspect-ratio buckets the
 * trainer forms batches per bucket, so its count can be slightly higher.
 */
public record StepPlan(int examples, int trainExamples, int valExamples, int microBatchesPerEpoch,
                       int stepsPerEpoch, int epochs, long totalSteps, int effectiveBatchSize) {

    public static StepPlan of(TrainConfig c, int examples) {
        int val = valExamples(examples, c.data().valRatio());
        return ofSplit(c, examples - val, val);
    }

    /** The plan for a split the trainer already made (e.g. from val_data_dir). */
    public static StepPlan ofSplit(TrainConfig c, int train, int val) { return ofSplit(c, train, val, 1); }

    /**
     * The same for data-parallel training on {@code worldSize} ranks: a step takes gradient_accumulation_steps
     * micro-batches on each rank, so batch_size x gradient_accumulation_steps x worldSize examples.
     */
    public static StepPlan ofSplit(TrainConfig c, int train, int val, int worldSize) {
        if (worldSize < 1) throw new IllegalArgumentException("world size must be >= 1, got " + worldSize);
        int examples = train + val;
        TrainConfig.Loop loop = c.loop();
        int micro = ceilDiv(train, loop.batchSize());
        int steps = ceilDiv(micro, loop.gradientAccumulationSteps() * worldSize);
        int epochs;
        long total;
        if (loop.maxSteps() > 0) {
            total = loop.maxSteps();
            epochs = steps == 0 ? 0 : (int) ((total + steps - 1) / steps);
        } else {
            epochs = loop.epochs();
            total = (long) steps * epochs;
        }
        return new StepPlan(examples, train, val, micro, steps, epochs, total, loop.effectiveBatchSize() * worldSize);
    }

    static int valExamples(int examples, double ratio) {
        if (ratio <= 0 || examples < 2) return 0;
        return Math.min(examples - 1, Math.max(1, (int) Math.floor(examples * ratio)));
    }

    /** Math.ceilDiv: (a + b - 1) / b would wrap for a batch_size near the int limit. */
    private static int ceilDiv(int a, int b) { return Math.ceilDiv(a, b); }

    /** About how many times each training example is seen over the run (epochs, fractional with max_steps). */
    public double viewsPerExample() {
        return stepsPerEpoch == 0 ? 0 : (double) totalSteps / stepsPerEpoch;
    }
}
