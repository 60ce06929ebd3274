package org.lorascripts.train;

/**
 * Tracks the best (lowest) validation loss and how many evaluations in a row failed to beat it;
 * with patience p > 0 the run stops after p such evaluations. The best step is always tracked,
 * patience or not, so the best adapter can be exported.
 */
final class EarlyStopping {
    private final int patience;
    private double best;
    private long bestStep;
    private int badEvaluations;

    EarlyStopping(int patience, double best, long bestStep, int badEvaluations) {
        this.patience = patience;
        this.best = best;
        this.bestStep = bestStep;
        this.badEvaluations = badEvaluations;
    }

    static EarlyStopping fresh(int patience) { return new EarlyStopping(patience, Double.NaN, -1, 0); }

    /** Records an evaluation; true when it is a new best. A NaN loss never is. */
    boolean record(double valLoss, long step) {
        if (!Double.isNaN(valLoss) && (bestStep < 0 || valLoss < best)) {
            best = valLoss;
            bestStep = step;
            badEvaluations = 0;
            return true;
        }
        badEvaluations++;
        return false;
    }

    boolean shouldStop() { return patience > 0 && badEvaluations >= patience; }

    boolean hasBest() { return bestStep >= 0; }

    double best() { return best; }

    long bestStep() { return bestStep; }

    int badEvaluations() { return badEvaluations; }
}
