package org.lorascripts.bench;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.lorascripts.dist.DistEnv;
import org.lorascripts.dist.ProcessGroup;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.DataParallel;
import org.lorascripts.train.optim.AdamW;

/**
 * Data-parallel scaling of the Llama LoRA step: one process per GPU, started with torchrun's variables
 * (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), each training the LlmTrainBenchmark shape at seq 2048,
 * batch 1 per rank, r16 q/k/v/o, bf16, on cuda:LOCAL_RANK, its LoRA gradients summed over NCCL by the trainer's
 * {@link DataParallel} (overlapped with backward). Rank 0 prints one JSON line: global tok/s, per-GPU tok/s.
 * Run it once with WORLD_SIZE=1 and once with N for the scaling. Usage: DdpLlmBenchmark [steps=8] [warmup=3] [model=llama3-8b] [ckpt=false]
 */
public final class DdpLlmBenchmark {
    private DdpLlmBenchmark() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String name = args.length > 2 ? args[2] : "llama3-8b";
        boolean ckpt = args.length > 3 && Boolean.parseBoolean(args[3]);
        Map<String, String> env = System.getenv();
        DistEnv de = DistEnv.from(env).orElseThrow(() -> new IllegalStateException("set WORLD_SIZE, RANK, MASTER_PORT (torchrun's variables)"));
        Device dev = Device.cuda(de.localRank());
        LlmConfig cfg = LlmTrainBenchmark.shape(name);
        int seq = 2048;
        Set<String> targets = Set.of("q_proj", "k_proj", "v_proj", "o_proj");
        try (ProcessGroup group = ProcessGroup.join(de, ProcessGroup.Backend.NCCL, Duration.ofSeconds(600));
             LlamaForCausalLM model = new LlamaForCausalLM(cfg, new RandomWeights(0).onDevice(), dev, DType.BF16);
             LoraNetwork lora = LoraNetwork.inject(model.loraHosts(), n -> targets.contains(n.substring(n.lastIndexOf('.') + 1)), LoraSpec.of(16, 32), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01)) {
            model.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            List<Tensor> params = lora.trainableParameters().stream().map(NamedParam::tensor).toList();
            DataParallel sync = new DataParallel(group);
            sync.start(params, 0, 0);
            Rng.manualSeed(dev, 1000 + de.rank());
            Tensor ids = Torch.randint(0, cfg.vocabSize(), new long[] {1, seq}, dev).keep();
            double loss = 0;
            for (int i = 0; i < warm; i++) loss = step(model, opt, ids, sync, group.worldSize());
            Cuda.synchronize(dev.index());
            group.barrier();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) loss = step(model, opt, ids, sync, group.worldSize());
            Cuda.synchronize(dev.index());
            group.barrier();
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            if (de.rank() == 0) {
                System.out.printf(Locale.ROOT, "{\"impl\": \"java\", \"ddp\": true, \"model\": \"%s\", \"grad_ckpt\": %s, \"world_size\": %d, \"seq\": %d, "
                        + "\"batch_per_rank\": 1, \"tok_s\": %.0f, \"tok_s_per_gpu\": %.0f, \"step_s\": %.3f, \"loss\": %.6f, \"overlap\": \"%s\"}%n",
                        name, ckpt, group.worldSize(), seq, seq * group.worldSize() / sec, seq / sec, sec, loss,
                        sync.overlapStats().map(Object::toString).orElse("none").replace('"', '\''));
            }
            ids.close();
        }
    }

    private static double step(LlamaForCausalLM model, AdamW opt, Tensor ids, DataParallel sync, int world) {
        try (Scope s = Scope.open()) {
            double count = LlamaForCausalLM.targetCount(ids) * (double) world;
            Tensor lossSum;
            try (Autocast ac = Autocast.enable(Device.Type.CUDA, DType.BF16)) {
                lossSum = model.lossSum(ids, ids);
            }
            sync.beforeLastBackward();
            lossSum.div(count).backward();
            double total = sync.reduce(opt.paramTensors(), lossSum.item());
            opt.step(1e-4);
            opt.zeroGrad();
            return total / count;
        }
    }
}
