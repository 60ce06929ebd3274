package org.lorascripts.demo;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Regenerates the built-in demo models ({@code builtin:tiny-sd}, {@code builtin:tiny-sdxl}, {@code builtin:tiny-llama}) from
 * scratch: {@code scripts/pretrain-demo-models.sh} runs it on a GPU with the recorded settings
 * (the defaults here); smaller settings make a quick check on a CPU. Not part of {@code ./lora}:
 * users never need it, the trained files ship in {@code demo-models/}.
 */
@Command(name = "pretrain-demo-models", mixinStandardHelpOptions = true,
        description = "Pretrain the built-in demo models from generated data (maintainers' tool).")
public final class PretrainDemoModels implements Callable<Integer> {
    @Parameters(index = "0", description = "sd, sdxl, llm or quickstart-data") String which;
    @Option(names = "--out", required = true, description = "Output folder.") Path out;
    @Option(names = "--device", description = "cuda or cpu (default: cuda when available).") String device;
    @Option(names = "--scale", description = "Multiply every step count and the data size by this (e.g. 0.01 for a CPU smoke run).")
    double scale = 1.0;
    @Option(names = "--batch-scale", description = "Multiply the batch sizes by this (e.g. 0.1 on a CPU).")
    double batchScale = 1.0;
    @Option(names = "--steps", description = "Upper bound of optimizer steps: sd takes two values, VAE,UNet; sdxl one (default: the recorded settings).",
            split = ",")
    int[] steps;
    @Option(names = "--budget", description = "Fit training into this many seconds (sd: a quarter for the VAE); 0 = run every step.")
    double budget;
    @Option(names = "--no-grid", description = "Skip the sample grid of the image model.") boolean noGrid;
    @Option(names = "--vae-from", description = "sdxl: the tiny-sd checkpoint whose VAE is used (default: the bundled builtin:tiny-sd).")
    Path vaeFrom;
    @Option(names = "--no-bf16", description = "Train in fp32 (default on CUDA: bf16 autocast).") boolean noBf16;

    @Override public Integer call() throws Exception {
        Device d = device == null ? (Cuda.isAvailable() ? Device.cuda(0) : Device.CPU) : Device.parse(device);
        if (d.isCuda()) Cuda.setTf32(true);
        switch (which) {
            case "sd" -> {
                TinySdPretrainer.Options o = TinySdPretrainer.Options.defaults();
                o = new TinySdPretrainer.Options(o.seed(), scaled(o.images(), 64), steps != null ? steps[0] : scaled(o.vaeSteps(), 2), batch(o.vaeBatch()), o.vaeLr(),
                        steps != null ? steps[1] : scaled(o.unetSteps(), 2), batch(o.unetBatch()), o.unetLr(), o.emaDecay(), o.captionDropout(), o.noiseOffset(), !noBf16, budget);
                System.out.println("tiny-sd: " + o + " on " + d);
                TinySdPretrainer.run(o, d, out, System.out, !noGrid);
            }
            case "sdxl" -> {
                TinySdxlPretrainer.Options o = TinySdxlPretrainer.Options.defaults();
                o = new TinySdxlPretrainer.Options(o.seed(), scaled(o.images(), 64), steps != null ? steps[0] : scaled(o.steps(), 2), batch(o.batch()), o.lr(),
                        o.emaDecay(), o.captionDropout(), o.noiseOffset(), !noBf16, budget);
                System.out.println("tiny-sdxl: " + o + " on " + d);
                TinySdxlPretrainer.run(o, d, out, System.out, !noGrid, vaeFrom);
            }
            case "llm" -> {
                TinyLlamaPretrainer.Options o = TinyLlamaPretrainer.Options.defaults();
                o = new TinyLlamaPretrainer.Options(o.seed(), scaled(o.paragraphs(), 200), o.tokenizerParagraphs(), o.merges(), o.bpeDropout(), o.seqLen(),
                        steps != null ? steps[0] : scaled(o.steps(), 2), batch(o.batch()), o.lr(), !noBf16, budget);
                System.out.println("tiny-llama: " + o + " on " + d);
                TinyLlamaPretrainer.run(o, d, out, System.out);
            }
            case "quickstart-data" -> QuickstartImages.write(out);
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "unknown model '" + which + "'; use sd, sdxl, llm or quickstart-data");
        }
        return 0;
    }

    private int batch(int v) { return Math.max(2, (int) Math.round(v * batchScale)); }

    private int scaled(int v, int min) { return Math.max(min, (int) Math.round(v * scale)); }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PretrainDemoModels()).execute(args));
    }
}
