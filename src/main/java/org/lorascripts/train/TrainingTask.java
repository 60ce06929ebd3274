package org.lorascripts.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.nn.NamedParam;

/**
 * The model side of a training run: the {@link TrainingLoop} owns order, batching, optimizer,
 * precision, checkpoints and logs; a task only knows its data and how to compute a loss.
 *
 * <p><b>Examples.</b> Examples are addressed by index: {@code 0 .. trainSize()-1} in the training
 * split and {@code 0 .. valSize()-1} in the validation split. The loop chooses which indices form a
 * micro-batch; the last micro-batch of an epoch may be smaller than batch_size.
 *
 * <p><b>Loss.</b> {@link #lossSum} returns the SUM of per-unit losses of a micro-batch, and
 * {@link #weight} how many units that sum covers (examples, or target tokens for text). The loop
 * divides by the total weight of the whole accumulation window before backward, so
 * gradient accumulation gives the same update as one big batch, and a window of long sequences
 * does not count more than a window of short ones.
 *
 * <p><b>Randomness contract.</b> A task draws randomness only from libtorch's default generators
 * (dropout, diffusion noise and timesteps: their states are saved in checkpoints and restored on
 * resume, and the validation pass runs under a fixed seed), or deterministically from
 * (seed, epoch, example index) (e.g. caption shuffling, crops, flips). No {@code Math.random}, no
 * unseeded {@code java.util.Random}: resume would then not continue the same run.
 *
 * <p><b>Tensors.</b> {@link #trainableParameters} are fp32 leaf tensors owned by the task (freed by
 * {@link #close}); everything else a task creates inside {@code lossSum} belongs to the loop's scope.
 */
public interface TrainingTask extends AutoCloseable {
    /** fp32 master LoRA weights, named as they are saved; the same list (same order) every call. */
    List<NamedParam> trainableParameters();

    int trainSize();

    /** Examples in the validation split; 0 = no validation. */
    int valSize();

    /** The number of units {@link #lossSum} of these examples sums over (examples, target tokens). */
    double weight(int[] exampleIndices, boolean validation);

    /**
     * A 0-dim tensor: the SUM of the per-unit losses of this micro-batch. Called inside autocast
     * when mixed precision is on; under no-grad for validation.
     */
    Tensor lossSum(int[] exampleIndices, boolean validation);

    /**
     * For CUDA graphs: the device tensors this training micro-batch's loss reads (cached latents, text
     * states, token ids, per-example weights...), with every host-side step already done (data read,
     * augmentation, tokenizing, host-to-device copies); null (the default) when the task cannot compute
     * its loss from such inputs, and the loop then runs the step without a graph. Batches whose inputs
     * have the same shapes and dtypes share one graph.
     */
    default java.util.List<Tensor> stepInputs(int[] exampleIndices) { return null; }

    /**
     * The training loss sum from tensors shaped as {@link #stepInputs} returned, with device work only:
     * no value read back to the host, no tensor made on the CPU. Randomness from libtorch's generators
     * (noise, timesteps, dropout) is fine. Called inside autocast; its result equals
     * {@code lossSum(exampleIndices, false)} for the same inputs and generator state.
     */
    default Tensor lossSumFromInputs(java.util.List<Tensor> inputs) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no graph inputs");
    }

    /** Writes the adapter in its export format to {@code target}, atomically (temp + rename). */
    void exportAdapter(Path target, Map<String, String> metadata) throws IOException;

    /** The file (or folder) name of the exported adapter, e.g. {@code outputName + ".safetensors"}. */
    String adapterFileName(String outputName);

    /**
     * Periodic samples (images, completions) for the logs. Called under no-grad with libtorch's
     * generators seeded from sample_seed and restored afterwards, so sampling never changes training.
     */
    default void sample(long step, SampleSink sink) {}

    /**
     * The micro-batches of epoch {@code epoch}, when the task must choose them (e.g. batches that never
     * mix aspect-ratio buckets); null, the default, keeps the loop's shuffle of all train indices cut
     * into batch_size. Every train index must appear exactly once, the batches must be a function of
     * (seed, epoch) alone and their count the same every epoch: a resumed run finds its place from the
     * step number.
     */
    default List<int[]> epochBatches(int epoch, int batchSize) { return null; }

    /**
     * The epoch (0-based) of the training micro-batches that follow, called before every optimizer
     * step (also the first one after a resume), so per-epoch augmentation can be drawn from
     * (seed, epoch, index). Validation does not call it.
     */
    default void setEpoch(int epoch) {}

    /**
     * A hint, given before each optimizer step runs: these training micro-batches of epoch {@code epoch} are the
     * next step's. A task may start their host-side work on background threads (images decoded and resized) so
     * that it overlaps this step; what {@link #lossSum} or {@link #stepInputs} then compute is the same. The default
     * ignores it.
     */
    default void prefetch(List<int[]> microBatches, int epoch) {}

    /**
     * Lines printed once the run has finished (e.g. the base model's and the LoRA's completions of
     * the eval prompts side by side); empty by default.
     */
    default List<String> summary() { return List.of(); }

    /** Extra metadata written into exported adapters (e.g. kohya's {@code ss_*} keys). */
    default Map<String, String> trainingMetadata() { return Map.of(); }

    /** True for token-level language-model losses: validation then also logs perplexity. */
    default boolean reportsPerplexity() { return false; }

    /** Frees the task's tensors (model, data, trainable parameters). */
    @Override void close();
}
