package org.lorascripts.models.sd.sampling;

import org.lorascripts.tensor.Tensor;

/** The model as samplers see it: its raw output (noise or v, with guidance applied) for x at a timestep. */
@FunctionalInterface
public interface Denoiser {
    Tensor predict(Tensor x, int timestep);
}
