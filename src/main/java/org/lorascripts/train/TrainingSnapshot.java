package org.lorascripts.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.train.optim.Optimizer;
import org.lorascripts.train.optim.GradScaler;
import org.lorascripts.nn.NamedParam;

/**
 * The tensors that make a resumed run continue exactly ({@code trainer_state.safetensors}):
 * <ul>
 *   <li>{@code param/<name>}: the fp32 master weights (the exported adapter may be fp16);</li>
 *   <li>{@code optim/<name>.<state>}: the optimizer state (AdamW: {@code .exp_avg|.exp_avg_sq|.step});</li>
 *   <li>{@code scaler/scale|growth_tracker|skipped_steps}: the fp16 loss scaler, when on;</li>
 *   <li>{@code rng/cpu}, {@code rng/cuda:N}: libtorch generator states (u8), so dropout and
 *       noise continue the same stream.</li>
 * </ul>
 */
final class TrainingSnapshot {
    static final String PARAM = "param/";
    static final String OPTIM = "optim/";
    static final String SCALER = "scaler/";

    private TrainingSnapshot() {}

    static void write(Path file, List<NamedParam> params, Optimizer optimizer, GradScaler scaler, Device device) throws IOException {
        try (Scope s = Scope.open(); RngStates rng = RngStates.capture(device)) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (NamedParam p : params) m.put(PARAM + p.name(), p.tensor());
            optimizer.stateDict().forEach((k, v) -> m.put(OPTIM + k, v));
            scaler.stateDict().forEach((k, v) -> m.put(SCALER + k, v));
            rng.states().forEach((d, t) -> m.put(RngStates.key(d), t));
            TensorIO.save(file, m, Map.of("format", "lora-scripts trainer state"));
        }
    }

    /** Loads everything back; every name and shape is checked, and errors name the file and the key. */
    static void restore(Path file, List<NamedParam> params, Optimizer optimizer, GradScaler scaler, Device device,
                        PrintStream console) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file); Scope s = Scope.open()) {
            Map<String, Tensor> optim = new LinkedHashMap<>();
            Map<String, Tensor> scale = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (name.startsWith(OPTIM)) optim.put(name.substring(OPTIM.length()), TensorIO.read(f, name));
                else if (name.startsWith(SCALER)) scale.put(name.substring(SCALER.length()), TensorIO.read(f, name));
            }
            try (Autograd.GradMode g = Autograd.noGrad()) {
                for (NamedParam p : params) {
                    String key = PARAM + p.name();
                    if (!f.contains(key)) {
                        throw new TrainingException(file + ": no weights for trainable parameter '" + p.name()
                                + "'; the checkpoint is from a different model or adapter layout");
                    }
                    Tensor saved = TensorIO.read(f, key);
                    if (!Arrays.equals(saved.shape(), p.tensor().shape())) {
                        throw new TrainingException(file + ": '" + key + "' has shape " + Arrays.toString(saved.shape())
                                + " but the parameter has " + Arrays.toString(p.tensor().shape())
                                + "; the checkpoint is from a different model or adapter layout");
                    }
                    p.tensor().copy_(saved);
                }
            }
            try {
                optimizer.loadStateDict(optim);
                if (scaler.isEnabled() && !scale.isEmpty()) scaler.loadStateDict(scale);
            } catch (IllegalArgumentException e) {
                throw new TrainingException(file + ": " + e.getMessage());
            }
            for (Device d : RngStates.devicesOf(device)) {
                String key = RngStates.key(d);
                if (f.contains(key)) {
                    Rng.setState(d, TensorIO.read(f, key));
                } else {
                    console.println("warning: " + file + " has no " + key + " state (saved on another device);"
                            + " random draws will differ from the original run");
                }
            }
        }
    }
}
