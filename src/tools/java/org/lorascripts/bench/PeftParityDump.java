package org.lorascripts.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.lora.MergedModelWriter;
import org.lorascripts.lora.PeftAdapterWriter;
import org.lorascripts.lora.PeftTargets;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;

/**
 * The Java side of tools/parity/peft_parity.py: trains a LoRA for a few steps on an HF model folder
 * (random token ids), exports it as a PEFT adapter, writes our logits for the given input ids and a
 * merged model folder, so the script can check them against peft and merge_and_unload().
 * Usage: PeftParityDump MODEL_DIR OUT_DIR TARGETS(q_proj,v_proj|all-linear)
 * (OUT_DIR/inputs.safetensors holds "input_ids"; writes OUT_DIR/adapter, java_logits.safetensors, merged/)
 */
public final class PeftParityDump {
    private PeftParityDump() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]), out = Path.of(args[1]);
        List<String> targets = List.of(args[2].split(","));
        Device dev = Cuda.isAvailable() ? Device.cuda(0) : Device.CPU;
        Rng.manualSeed(123);
        try (LlamaForCausalLM m = LlamaForCausalLM.load(model, dev, DType.F32);
             LoraNetwork net = LoraNetwork.inject(m.loraHosts(), PeftTargets.select(targets, null, null, "lm_head"), new LoraSpec(8, 16, 0, 0, 0, false), dev);
             AdamW opt = new AdamW(net.trainableParameters(), 0.9, 0.999, 1e-8, 0.0)) {
            for (int step = 0; step < 5; step++) {
                try (Scope s = Scope.open()) {
                    Tensor ids = Torch.randint(3, m.config().vocabSize(), new long[] {2, 16}, dev);
                    m.lossSum(ids, ids).div((double) LlamaForCausalLM.targetCount(ids)).backward();
                    opt.step(1e-2);
                    opt.zeroGrad();
                }
            }
            Path adapter = out.resolve("adapter");
            PeftAdapterWriter.write(adapter, net, model.toString(), 0.0, false, DType.F32);
            try (SafetensorsFile in = SafetensorsFile.open(out.resolve("inputs.safetensors")); Scope s = Scope.open()) {
                Tensor ids = TensorIO.read(in, "input_ids").to(dev);
                Tensor logits = m.logits(ids, null, null).to(Device.CPU);
                TensorIO.save(out.resolve("java_logits.safetensors"), Map.of("logits", logits), Map.of());
            }
            Path merged = out.resolve("merged");
            if (Files.exists(merged)) throw new IllegalStateException(merged + " exists");
            MergedModelWriter.write(model, adapter, merged);
            System.out.println("wrote " + adapter + ", java_logits.safetensors and " + merged);
        }
    }
}
