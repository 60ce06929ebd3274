package org.lorascripts.train;

import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * Validation loss over the whole split, Σ lossSum / Σ weight, in batches of batch_size in index
 * order, under no-grad and with libtorch's generators seeded with a fixed value and restored
 * afterwards: evaluations of the same weights give the same number (diffusion losses draw noise
 * and timesteps), and the training random stream continues as if no evaluation had happened.
 */
final class ValidationPass {
    private ValidationPass() {}

    static double run(TrainingTask task, Precision precision, Device device, long seed, int batchSize) {
        int n = task.valSize();
        double[] sums = new double[2];
        RngStates.withSeed(device, seed, () -> {
            try (Autograd.GradMode g = Autograd.noGrad()) {
                for (int start = 0; start < n; start += batchSize) {
                    int[] idx = new int[Math.min(batchSize, n - start)];
                    for (int i = 0; i < idx.length; i++) idx[i] = start + i;
                    try (Scope s = Scope.open()) {
                        Tensor loss;
                        try (Autocast ac = precision.autocast()) {
                            loss = task.lossSum(idx, true);
                        }
                        sums[0] += loss.item();
                        sums[1] += task.weight(idx, true);
                    }
                }
            }
        });
        return sums[0] / sums[1];
    }
}
