package org.lorascripts.lora;

import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.NamedParam;

/**
 * The adapters attached to one model, whatever their kind: plain LoRA ({@link LoraNetwork}) or LyCORIS's
 * LoHa / LoKr ({@link LycorisNetwork}). What the training loop, sampling and merging need of a network;
 * the file formats take the concrete class.
 */
public interface AdapterNetwork extends AutoCloseable {
    /** The adapters by module name (the model's own module path). */
    Map<String, ? extends Adapter> adapters();

    Map<String, LoraHost> hosts();

    int size();

    /**
     * The fp32 master tensors, named {@code <module>.<tensor>}, with learning-rate scales: {@code downScale} for most,
     * {@code upScale} for the tensors LoRA+ speeds up (plain LoRA's up matrices; none for LoHa and LoKr, as in LyCORIS).
     */
    List<NamedParam> trainableParameters(double downScale, double upScale);

    void setTraining(boolean on);

    void setMultiplier(double m);

    /** Adds every adapter's delta into its host's frozen weight (in place) and detaches the adapters. */
    void mergeIntoWeights();

    @Override void close();
}
