package org.lorascripts.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.tasks.sd.CheckpointLoraTargets;
import org.lorascripts.tasks.sd.LoraExtraction;
import org.lorascripts.tensor.DType;
import org.lorascripts.hub.FileSelection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./lora extract}: a kohya LoRA from the difference of two single-file SD checkpoints (sd-scripts' extract_lora_from_models.py). */
@Command(name = "extract", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Extract a kohya LoRA from the difference of two LDM single-file checkpoints (SD 1.x, 2.x or SDXL) by SVD.",
                "Text encoders are included only when they differ by more than --min-diff."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora extract --base models/v1-5-pruned.safetensors \\",
            "      --tuned models/my-finetune.safetensors --rank 32 \\",
            "      -o output/my-finetune-lora.safetensors",
            "  ./lora extract --base models/sd_xl_base_1.0.safetensors \\",
            "      --tuned models/my-sdxl.safetensors --rank 64 --conv-rank 32 \\",
            "      --save-precision fp16 -o output/my-sdxl-lora.safetensors%n"})
public final class ExtractCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--base", required = true, paramLabel = "CKPT", description = "The original checkpoint (.safetensors single file, or builtin:tiny-sd / builtin:tiny-sdxl).")
    String base;

    @Option(names = "--tuned", required = true, paramLabel = "CKPT", description = "The fine-tuned checkpoint of the same architecture.")
    String tuned;

    @Option(names = "--rank", required = true, paramLabel = "R", description = "Rank of linear and 1x1 modules.")
    int rank;

    @Option(names = "--conv-rank", paramLabel = "R", description = "Also extract 3x3 convolutions (resnets, samplers) at this rank (kohya's conv_dim).")
    Integer convRank;

    @Option(names = "--clamp-quantile", paramLabel = "Q", defaultValue = "0.99", description = "Clamp factors at this quantile of their values, as kohya (default: ${DEFAULT-VALUE}; 1 = no clamping).")
    double clampQuantile;

    @Option(names = "--min-diff", paramLabel = "D", defaultValue = "0.01", description = "Text encoders count as changed when a weight moved more than this (default: ${DEFAULT-VALUE}).")
    double minDiff;

    @Option(names = "--save-precision", paramLabel = "P", defaultValue = "fp32", description = "fp16, bf16 or fp32 (default: ${DEFAULT-VALUE}, as kohya).")
    String savePrecision;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The LoRA to write (.safetensors).")
    Path output;

    @Option(names = "--force", description = "Replace --output when it exists.")
    boolean force;

    @Override public Integer call() {
        return LoraFileArgs.run(spec, o -> {
            // ORG/NAME[/FILE.safetensors]: fetched from the Hub into the shared cache
            Path b = CheckpointLoraTargets.resolve(HubModels.local(base, FileSelection.AUTO)),
                    t = CheckpointLoraTargets.resolve(HubModels.local(tuned, FileSelection.AUTO));
            LoraFileArgs.checkOutput(output, force, b, t);
            DType dtype = LoraFileArgs.saveDtype(savePrecision);
            try (LoraExtraction.Result r = LoraExtraction.extract(b, t, new LoraExtraction.Options(rank, convRank, clampQuantile, minDiff))) {
                KohyaLoraWriter.writeModules(output, r.modules(), dtype, r.metadata());
                double mean = r.froRetained().values().stream().mapToDouble(Double::doubleValue).average().orElse(1);
                o.printf(Locale.ROOT, "%s: %d modules, text encoders %s (largest change %.4g, --min-diff %s), average Frobenius norm kept %.2f%%%n",
                        r.family().displayName, r.modules().size(), r.textEncoders() ? "included" : "unchanged, left out", r.maxTextEncoderDiff(),
                        LoraFileArgs.fmt(minDiff), 100 * mean);
                o.println("wrote " + output + " (" + dtype.displayName() + ")");
            }
        });
    }
}
