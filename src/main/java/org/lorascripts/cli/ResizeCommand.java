package org.lorascripts.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraResize;
import org.lorascripts.lora.LowRank;
import org.lorascripts.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./lora resize}: a kohya LoRA at another rank (sd-scripts' resize_lora.py), with what each module keeps. */
@Command(name = "resize", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Change the rank of a kohya LoRA (.safetensors) by SVD, keeping its effective strength (alpha is scaled).",
                "Prints per module the share of the Frobenius norm kept and the error (norm of what is dropped)."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora resize --lora output/my_style_lora.safetensors --rank 8 \\",
            "      -o output/my_style_r8.safetensors",
            "  ./lora resize --lora output/my_style_lora.safetensors --rank 32 \\",
            "      --dynamic-method sv_fro --dynamic-param 0.9 -o output/my_style_dyn.safetensors%n"})
public final class ResizeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--lora", required = true, paramLabel = "FILE", description = "The kohya LoRA file to resize.")
    Path lora;

    @Option(names = "--rank", required = true, paramLabel = "R", description = "New rank (with --dynamic-method: the largest rank allowed).")
    int rank;

    @Option(names = "--conv-rank", paramLabel = "R", description = "New rank of convolution modules (default: --rank).")
    Integer convRank;

    @Option(names = "--dynamic-method", paramLabel = "M", description = "Choose each module's rank: sv_ratio, sv_fro or sv_cumulative (as kohya).")
    String dynamicMethod;

    @Option(names = "--dynamic-param", paramLabel = "X", description = "Target of the dynamic method (sv_ratio: largest/smallest kept value; sv_fro, sv_cumulative: share kept, 0-1).")
    Double dynamicParam;

    @Option(names = "--save-precision", paramLabel = "P", description = "fp16, bf16 or fp32 (default: the input's).")
    String savePrecision;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The resized LoRA to write (.safetensors).")
    Path output;

    @Option(names = "--force", description = "Replace --output when it exists.")
    boolean force;

    @Override public Integer call() {
        return LoraFileArgs.run(spec, o -> {
            LoraFileArgs.checkOutput(output, force, lora);
            LowRank.Dynamic dynamic = dynamicMethod == null ? null : LowRank.Dynamic.parse(dynamicMethod);
            if (dynamic == null && dynamicParam != null) throw new IllegalArgumentException("--dynamic-param needs --dynamic-method");
            LoraResize.Options opts = new LoraResize.Options(rank, convRank == null ? rank : convRank, dynamic,
                    dynamicParam == null ? 0 : dynamicParam);
            DType dtype = savePrecision != null ? LoraFileArgs.saveDtype(savePrecision) : LoraFileArgs.storedDtype(lora);
            try (KohyaLoraReader.LoraFile in = KohyaLoraReader.read(lora);
                 LoraResize.Result r = LoraResize.resize(in, opts)) {
                if (in.modules().isEmpty()) throw new IllegalArgumentException(lora + " holds no LoRA modules");
                KohyaLoraWriter.writeModules(output, r.modules(), dtype, LoraResize.metadata(in.metadata(), opts, r));
                for (LoraResize.ModuleReport m : r.reports()) {
                    o.printf(Locale.ROOT, "  %-72s rank %3d -> %3d  alpha %-8s fro kept %6.2f%%  error %.4g%n", m.name(), m.oldRank(), m.newRank(),
                            LoraFileArgs.fmt(m.newAlpha()), 100 * m.froRetained(), m.error());
                }
                o.printf(Locale.ROOT, "resized %d modules of %s: average Frobenius norm kept %.2f%% (std %.3f), worst %.2f%%%n",
                        r.reports().size(), lora, 100 * r.meanFroRetained(), r.stdFroRetained(),
                        100 * r.reports().stream().mapToDouble(LoraResize.ModuleReport::froRetained).min().orElse(1));
                o.println("wrote " + output + " (" + dtype.displayName() + ")");
            }
        });
    }
}
