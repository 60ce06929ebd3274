package org.lorascripts.train.optim;

import java.util.List;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.nn.NamedParam;

/** The one place the training loop's optimizer is built from the config. */
public final class Optimizers {
    private Optimizers() {}

    /** The optimizer {@code config.type()} over {@code params}, with the config's settings. */
    public static Optimizer create(TrainConfig.Optimizer config, List<NamedParam> params) {
        return switch (config.type()) {
            case ADAMW -> new AdamW(params, config.beta1(), config.beta2(), config.epsilon(), config.weightDecay());
        };
    }
}
