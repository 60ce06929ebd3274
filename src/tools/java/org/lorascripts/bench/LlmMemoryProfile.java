package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;

/**
 * The tensors live at the peak of one Llama LoRA training step (LlmTrainBenchmark's: bf16 weights, rank-16 LoRA on
 * q/k/v/o, autocast bf16, AdamW), from libtorch's profiler with memory events, grouped by operator and by operator
 * and block size: where the activations beyond what backward needs come from. On CUDA the shapes of the benchmark;
 * on the CPU (a libtorch with Kineto, e.g. LIBTORCH at pip's torch) a small Llama of the same layout.
 *
 * <pre>
 * LlmMemoryProfile cuda [llama3.2-1b|llama3-8b] [seq=2048] [ckpt=false] [table.tsv] [dropout=P]
 * LlmMemoryProfile cpu [small|llama3-8b/4] [seq=256] [ckpt=false] [table.tsv] [dropout=P]
 * </pre>
 * {@code small}: hidden 256, 4 layers, 8 heads (4 KV), vocab 2000. {@code llama3-8b/4}: Llama-3-8B's layout at a quarter
 * of its width (hidden 1024, intermediate 3584, 8 heads of 128 with 2 KV heads, vocab 32064, 4 layers), whose saved
 * activations per layer are a quarter of the 8B shape's at the same sequence length.
 */
public final class LlmMemoryProfile {
    private LlmMemoryProfile() {}

    static LlmConfig cpuShape(String name) {
        return switch (name) {
            case "small" -> new LlmConfig("llama", 2000, 256, 688, 4, 8, 4, 32, 1e-5, LlmConfig.Rope.plain(500000.0),
                    false, false, false, true, 1L, new long[] {2}, 4096, new int[4], "bfloat16", List.of());
            case "llama3-8b/4" -> new LlmConfig("llama", 32064, 1024, 3584, 4, 8, 2, 128, 1e-5, LlmConfig.Rope.plain(500000.0),
                    false, false, false, false, 1L, new long[] {2}, 8192, new int[4], "bfloat16", List.of());
            default -> throw new IllegalArgumentException("unknown CPU shape " + name + " (small or llama3-8b/4)");
        };
    }

    public static void main(String[] argv) throws IOException {
        // dropout=P anywhere: LoRA dropout P on the adapters (default 0, as the benchmark)
        double dropout = 0;
        List<String> rest = new java.util.ArrayList<>();
        for (String a : argv) {
            if (a.startsWith("dropout=")) dropout = Double.parseDouble(a.substring("dropout=".length()));
            else rest.add(a);
        }
        String[] args = rest.toArray(String[]::new);
        if (args.length == 0 || !(args[0].equals("cuda") || args[0].equals("cpu"))) {
            System.err.println("usage: LlmMemoryProfile cuda [llama3.2-1b|llama3-8b] [seq=2048] [ckpt=false] [table.tsv] [dropout=P] | cpu [small|llama3-8b/4] [seq=256] [ckpt=false] [table.tsv] [dropout=P]");
            System.exit(2);
        }
        boolean cuda = args[0].equals("cuda");
        int k = 1;
        String name = args.length > k && !args[k].matches("\\d+") ? args[k++] : cuda ? "llama3.2-1b" : "small";
        int seq = args.length > k ? Integer.parseInt(args[k++]) : cuda ? 2048 : 256;
        boolean ckpt = args.length > k && Boolean.parseBoolean(args[k++]);
        Path table = args.length > k ? Path.of(args[k]) : null;
        Device dev = cuda ? Device.cuda(0) : Device.CPU;
        LlmConfig cfg = cuda ? LlmTrainBenchmark.shape(name) : cpuShape(name);
        Set<String> targets = Set.of("q_proj", "k_proj", "v_proj", "o_proj");
        String title = String.format(Locale.ROOT, "ours %s seq=%d ckpt=%s%s", name, seq, ckpt, dropout > 0 ? " dropout=" + dropout : "");
        Rng.manualSeed(0);
        if (cuda) {
            Cuda.emptyCache();
            Cuda.resetPeakMemory(dev.index());
        }
        try (Scope cfgScope = Scope.open();
             LlamaForCausalLM model = new LlamaForCausalLM(cfg, cuda ? new RandomWeights(0).onDevice() : new RandomWeights(0), dev, DType.BF16);
             LoraNetwork lora = LoraNetwork.inject(model.loraHosts(), n -> targets.contains(n.substring(n.lastIndexOf('.') + 1)),
                     new LoraSpec(16, 32, dropout, 0, 0, false), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01)) {
            model.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            Tensor ids = Torch.randint(0, cfg.vocabSize(), new long[] {1, seq}, dev).keep();
            for (int i = 0; i < 2; i++) LlmQloraBenchmark.step(model, opt, ids, dev);
            MemoryPeak.Profiled r = MemoryPeak.profile(dev, () -> LlmQloraBenchmark.step(model, opt, ids, dev));
            if (cuda) {
                System.out.printf(Locale.ROOT, "%s: resident between steps %.1f MiB, allocator peak %.1f MiB (%.3f GiB)%n",
                        title, MemoryPeak.mib(r.residentBefore()), MemoryPeak.mib(r.peak()), r.peak() / (double) (1L << 30));
            }
            if (table != null) MemoryPeak.writeTable(r.events(), table);
            System.out.print(MemoryPeak.reports(r.events(), cuda ? 1 : 0, title));
            ids.close();
        }
    }
}
