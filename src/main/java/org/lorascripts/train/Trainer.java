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
}
