package org.lorascripts.bench;

import java.util.List;
import java.util.Locale;
import org.lorascripts.config.MixedPrecision;
import java.util.Set;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;

/**
 * The Llama LoRA training step of shared/bench/bench_llm_peft.py on our engine: Llama-3.2-1B and
 * Llama-3-8B shapes with random bf16 weights, seq 2048, batch 1, rank-16 LoRA (alpha 32) on q/k/v/o, bf16 autocast,
 * fused attention, fused AdamW, with and without gradient checkpointing; on 8B also every linear layer targeted (with and
 * without checkpointing) and both target sets with {@code recompute_attention}. Prints one JSON line per configuration
 * in the reference's format, and the CUDA-graph step's line after each.
 * Usage: LlmTrainBenchmark [steps=8] [warmup=3] [models=llama3.2-1b,llama3-8b]
 */
public final class LlmTrainBenchmark {
    private LlmTrainBenchmark() {}

    static LlmConfig shape(String name) {
        boolean big = name.equals("llama3-8b");
        long hidden = big ? 4096 : 2048, inter = big ? 14336 : 8192;
        int layers = big ? 32 : 16;
        return new LlmConfig("llama", 128256, hidden, inter, layers, 32, 8, hidden / 32, 1e-5, LlmConfig.Rope.plain(500000.0),
                false, false, false, !big, 1L, new long[] {2}, 8192, new int[layers], "bfloat16", List.of());
    }

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        List<String> models = List.of((args.length > 2 ? args[2] : "llama3.2-1b,llama3-8b").split(","));
        Device dev = Device.cuda(0);
        Set<String> attn = Set.of("q_proj", "k_proj", "v_proj", "o_proj");
        for (String m : models) {
            for (boolean ckpt : new boolean[] {false, true}) run(dev, m, ckpt, attn, steps, warm);
        }
        if (models.contains("llama3-8b")) {
            Set<String> all = Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
            run(dev, "llama3-8b", true, all, steps, warm);
            run(dev, "llama3-8b", false, all, steps, warm);   // the reference's tools/bench_llm_extra.py
            // selective recomputation (the reference has no such setting: compare with its plain rows)
            run(dev, "llama3-8b", false, attn, steps, warm, true);
            run(dev, "llama3-8b", false, all, steps, warm, true);
        }
    }

    static void run(Device dev, String name, boolean ckpt, Set<String> targets, int steps, int warm) {
        run(dev, name, ckpt, targets, steps, warm, false);
    }

    /** {@code attentionRecompute}: {@link LlamaForCausalLM#setAttentionRecompute} (a "recompute": "attention" field). */
    static void run(Device dev, String name, boolean ckpt, Set<String> targets, int steps, int warm, boolean attentionRecompute) {
        Cuda.emptyCache();
        Cuda.resetPeakMemory(dev.index());
        Rng.manualSeed(0);
        LlmConfig cfg = shape(name);
        int seq = 2048;
        // a scope of its own: what the configuration made outside the steps' scopes is freed before the next one
        try (Scope cfgScope = Scope.open();
             LlamaForCausalLM model = new LlamaForCausalLM(cfg, new RandomWeights(0).onDevice(), dev, DType.BF16);
             LoraNetwork lora = LoraNetwork.inject(model.loraHosts(), n -> targets.contains(n.substring(n.lastIndexOf('.') + 1)),
                     LoraSpec.of(16, 32), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01)) {
            model.setGradientCheckpointing(ckpt);
            model.setAttentionRecompute(attentionRecompute);
            String recompute = attentionRecompute ? ", \"recompute\": \"attention\"" : "";
            String label = String.format(Locale.ROOT, "%s ckpt=%s targets=%d%s", name, ckpt, targets.size(), attentionRecompute ? " recompute=attention" : "");
            lora.setTraining(true);
            double weightsGib = Cuda.memory(dev.index()).map(m -> m.allocated() / (double) (1L << 30)).orElse(Double.NaN);
            Tensor ids = Torch.randint(0, cfg.vocabSize(), new long[] {1, seq}, dev).keep();
            double loss = 0;
            for (int i = 0; i < warm; i++) loss = step(model, opt, ids);
            Cuda.synchronize(dev.index());
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) loss = step(model, opt, ids);
            Cuda.synchronize(dev.index());
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            double peak = Cuda.memory(dev.index()).map(m -> m.peakAllocated() / (double) (1L << 30)).orElse(Double.NaN);
            double resident = Cuda.memory(dev.index()).map(m -> m.allocated() / (double) (1L << 30)).orElse(Double.NaN);
            System.out.printf(Locale.ROOT, "{\"impl\": \"java\", \"model\": \"%s\", \"grad_ckpt\": %s, \"seq\": %d, \"batch\": 1, \"targets\": %d%s, "
                    + "\"tok_s\": %.0f, \"step_s\": %.3f, \"peak_gib\": %.2f, \"weights_gib\": %.2f, \"resident_gib\": %.2f, \"loss\": %.6f}%n",
                    name, ckpt, seq, targets.size(), recompute, seq / sec, sec, peak, weightsGib, resident, loss);
            if (GraphedStep.asked()) {
                double count = LlamaForCausalLM.targetCount(ids);
                BenchTask task = new BenchTask(lora.trainableParameters(), List.of(ids), x -> model.lossSum(x.get(0), x.get(0)));
                try {
                    double[] r = GraphedStep.time(dev, task, opt, MixedPrecision.BF16, count, warm, steps);
                    System.out.println(GraphedStep.json(label, r, sec, "tok_s", seq));
                } catch (RuntimeException e) {
                    System.out.println("{\"cuda_graph\": \"failed\", \"error\": \"" + String.valueOf(e.getMessage()).replace('"', '\'').replace('\n', ' ') + "\"}");
                }
            }
            StepProfile.profileIfAsked(label, () -> step(model, opt, ids), dev.index(), sec);
            ids.close();
        }
    }

    private static double step(LlamaForCausalLM model, AdamW opt, Tensor ids) {
        try (Scope s = Scope.open()) {
            Tensor loss;
            try (Autocast ac = Autocast.enable(Device.Type.CUDA, DType.BF16)) {
                loss = model.lossSum(ids, ids).div((double) LlamaForCausalLM.targetCount(ids));
            }
            loss.backward();
            opt.step(1e-4);
            opt.zeroGrad();
            return loss.item();
        }
    }
}
