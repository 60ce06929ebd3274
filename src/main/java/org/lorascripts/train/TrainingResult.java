package org.lorascripts.train;

import java.nio.file.Path;

/**
 * How a run ended.
 *
 * @param steps          optimizer steps completed (counting those before a resume)
 * @param totalSteps     the steps the run planned
 * @param interrupted    stopped by Ctrl-C; a checkpoint was saved, no final adapter written
 * @param stoppedEarly   stopped by early stopping
 * @param lastLoss       train loss of the last step
 * @param bestValLoss    lowest validation loss (NaN without validation)
 * @param bestStep       its step (-1 without validation)
 * @param adapter        the final adapter in output_dir, null when interrupted
 * @param bestAdapter    {@code <output_name>-best}, null without validation or when interrupted
 * @param lastCheckpoint the newest checkpoint folder written by this run
 */
public record TrainingResult(long steps, long totalSteps, boolean interrupted, boolean stoppedEarly, double lastLoss,
                             double bestValLoss, long bestStep, Path adapter, Path bestAdapter, Path lastCheckpoint) {}
