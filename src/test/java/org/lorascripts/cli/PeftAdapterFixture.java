package org.lorascripts.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Predicate;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.lora.PeftAdapterWriter;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Tensor;

/** PEFT adapters with random, clearly non-zero weights over a model folder, for the generate and merge commands. */
final class PeftAdapterFixture {
    private PeftAdapterFixture() {}

    /** Rank-4 adapters on the modules the filter accepts; lora_B ~ N(0, std) so the adapter changes the outputs. */
    static Path write(Path modelDir, Path out, Predicate<String> modules, double std, long seed) throws IOException {
        Rng.manualSeed(seed);
        try (LlamaForCausalLM m = LlamaForCausalLM.load(modelDir, Device.CPU, DType.F32);
             LoraNetwork net = LoraNetwork.inject(m.loraHosts(), modules.and(n -> !n.equals("lm_head")), LoraSpec.of(4, 8), Device.CPU)) {
            try (var ng = Autograd.noGrad()) {
                for (LoraAdapter a : net.adapters().values()) {
                    try (Tensor up = a.up().detach()) {
                        up.normal_(0, std);
                    }
                }
            }
            PeftAdapterWriter.write(out, net, modelDir.toString(), 0.0, false, DType.F32);
        }
        return out;
    }
}
