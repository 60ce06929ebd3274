package org.lorascripts.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.config.MixStrategy;

/**
 * The text records of one or more datasets (train_data, or train_data_dir alone), before tokenising:
 * each dataset is read with its own format detection; with val_ratio each gives its own share of
 * validation examples (dataset i split with seed + i, so one dataset splits as it always has) before
 * mixing, so an example repeated by interleave_over never lands in both splits; then the training
 * records are mixed by {@link DatasetMix} with the run's seed. Validation records are concatenated.
 *
 * @param perDataset each dataset's training records, before mixing
 * @param valPerDataset each dataset's validation records (all 0 with val_data_dir, which is read whole)
 */
public record TextMix(List<Path> sources, List<TextRecord> train, List<TextRecord> val, int[] perDataset,
                      int[] valPerDataset, int[] mixedPerDataset, MixStrategy strategy) {
    public static TextMix read(List<Path> sources, TextDataOptions o) {
        if (sources.isEmpty()) throw new DatasetException("no training data: set train_data_dir or train_data");
        boolean several = sources.size() > 1;
        List<List<TextRecord>> trains = new ArrayList<>();
        List<TextRecord> val = new ArrayList<>();
        int n = sources.size();
        int[] per = new int[n], valPer = new int[n];
        for (int i = 0; i < n; i++) {
            if (several && !java.nio.file.Files.exists(sources.get(i))) {
                throw new DatasetException("train_data[" + i + "] " + sources.get(i) + " does not exist; put the training data there"
                        + " or fix the path (relative paths are relative to the config file)");
            }
            List<TextRecord> records = TextRecordReader.read(sources.get(i), o.format(), several ? "train_data[" + i + "]" : "train_data_dir");
            if (o.valDataDir().isEmpty() && o.valRatio() > 0) {
                int[] valIdx;
                try {
                    valIdx = TrainValSplit.valIndices(records.size(), o.valRatio(), o.seed() + i);
                } catch (DatasetException e) {
                    throw several ? new DatasetException("train_data[" + i + "] " + sources.get(i) + ": " + e.getMessage()) : e;
                }
                List<TextRecord> kept = new ArrayList<>();
                for (int r = 0, v = 0; r < records.size(); r++) {
                    if (v < valIdx.length && valIdx[v] == r) { val.add(records.get(r)); v++; valPer[i]++; }
                    else kept.add(records.get(r));
                }
                records = kept;
            }
            per[i] = records.size();
            trains.add(records);
        }
        if (o.valDataDir().isPresent()) val.addAll(TextRecordReader.read(o.valDataDir().get(), o.format(), "val_data_dir"));
        double[] probs = o.interleaveProbs().isEmpty() ? null : o.interleaveProbs().stream().mapToDouble(Double::doubleValue).toArray();
        DatasetMix.Order order;
        try {
            order = DatasetMix.order(per, o.mixStrategy(), probs, o.seed());
        } catch (IllegalArgumentException e) {
            throw new DatasetException("interleave_probs: " + e.getMessage());
        }
        List<TextRecord> train = DatasetMix.apply(order, trains);
        return new TextMix(List.copyOf(sources), train, List.copyOf(val), per, valPer, order.countsPerSource(n), o.mixStrategy());
    }

    /** One line per dataset and one for the mix, for the dry run. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            out.add(String.format("dataset %d: %s: %d training examples%s, %d in the mix", i, sources.get(i), perDataset[i],
                    valPerDataset[i] > 0 ? " (+" + valPerDataset[i] + " validation)" : "", mixedPerDataset[i]));
        }
        out.add("mixed (" + strategy.configName() + "): " + train.size() + " training examples per epoch"
                + (val.isEmpty() ? "" : ", " + val.size() + " validation"));
        return out;
    }
}
