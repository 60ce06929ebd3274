package org.lorascripts.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.train.TrainingTask;

/**
 * A benchmark's step as a {@link TrainingTask}, so the benchmarks time the trainer's own CUDA-graph
 * step ({@link org.lorascripts.train.GraphedSteps}): fixed device inputs, a loss function over them.
 */
final class BenchTask implements TrainingTask {
    private final List<NamedParam> params;
    private final List<Tensor> inputs;
    private final Function<List<Tensor>, Tensor> loss;

    BenchTask(List<NamedParam> params, List<Tensor> inputs, Function<List<Tensor>, Tensor> loss) {
        this.params = params;
        this.inputs = inputs;
        this.loss = loss;
    }

    @Override public List<NamedParam> trainableParameters() { return params; }
    @Override public int trainSize() { return 1; }
    @Override public int valSize() { return 0; }
    @Override public double weight(int[] exampleIndices, boolean validation) { return 1; }
    @Override public Tensor lossSum(int[] exampleIndices, boolean validation) { return loss.apply(inputs); }
    @Override public List<Tensor> stepInputs(int[] exampleIndices) { return inputs; }
    @Override public Tensor lossSumFromInputs(List<Tensor> in) { return loss.apply(in); }
    @Override public void exportAdapter(Path target, Map<String, String> metadata) { throw new UnsupportedOperationException(); }
    @Override public String adapterFileName(String outputName) { return outputName; }
    @Override public void close() {}
}
