package org.lorascripts.train;

import org.lorascripts.config.TrainConfig;

/** Runs one training job for a validated config. Registered per task in {@link Trainers}. */
public interface Trainer {
    /**
     * Trains until the config's epochs/max_steps are done, writing checkpoints to
     * {@code config.output().outputDir()}. Throws on failure; user-facing problems should be
     * thrown as exceptions with a one-line message.
     */
    void train(TrainConfig config, Resume resume) throws Exception;

    /**
     * The same as one rank of a data-parallel job ({@link GradientSync}); a trainer that does not take part in
     * one refuses a world size above 1.
     */
    default void train(TrainConfig config, Resume resume, GradientSync sync) throws Exception {
        if (sync.worldSize() > 1) {
            throw new TrainingException("training for " + config.taskType().configName() + " cannot run on several processes; drop --nproc");
        }
        train(config, resume);
    }
}
