package org.lorascripts.train;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How a run ended.
 *
 * @param steps          optimizer steps completed (counting those before a resume)
 * @param totalSteps     the steps the run planned
 * @param interrupted    stopped by Ctrl-C; a checkpoint was saved, no final adapter written
 * @param stoppedEarly   stopped by early stopping
 * @param lastLoss       train loss of the last step alone (one batch: noisier than a logged mean)
 * @param lastLogged     the last train/loss row logged, null when none was
 * @param bestValLoss    lowest validation loss (NaN without validation)
 * @param bestStep       its step (-1 without validation)
 * @param adapter        the final adapter in output_dir, null when interrupted
 * @param bestAdapter    {@code <output_name>-best}, null without validation or when interrupted
 * @param lastCheckpoint the newest checkpoint folder written by this run
 */
public record TrainingResult(long steps, long totalSteps, boolean interrupted, boolean stoppedEarly, double lastLoss,
                             LoggedLoss lastLogged, double bestValLoss, long bestStep, Path adapter, Path bestAdapter,
                             Path lastCheckpoint) {
    /** A logged train/loss: the mean of the losses of steps {@code firstStep..lastStep}. */
    public record LoggedLoss(double mean, long firstStep, long lastStep) {}

    /**
     * The final loss in words that say what it is, and how it relates to the last logged train/loss,
     * e.g. {@code final loss 0.1234 (step 30 alone); last logged train/loss 0.1400 (mean of steps 21-30)}.
     */
    public String lossSummary() {
        String finalLoss = "final loss " + fmt(lastLoss);
        if (lastLogged != null && lastLogged.firstStep() == steps && lastLogged.lastStep() == steps) {
            return finalLoss + " (step " + steps + ", as last logged)";  // log_interval 1: one number
        }
        finalLoss += " (step " + steps + " alone)";
        if (lastLogged == null) return finalLoss;
        String covers = lastLogged.firstStep() == lastLogged.lastStep() ? "step " + lastLogged.lastStep()
                : "mean of steps " + lastLogged.firstStep() + "-" + lastLogged.lastStep();
        return finalLoss + "; last logged train/loss " + fmt(lastLogged.mean()) + " (" + covers + ")";
    }

    static String fmt(double v) { return String.format(Locale.ROOT, "%.4g", v); }
}
