package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.tensor.DType;
import picocli.CommandLine.Model.CommandSpec;

/** Argument checks shared by the commands that write one LoRA or checkpoint file (resize, extract, merge, export). */
final class LoraFileArgs {
    private LoraFileArgs() {}

    /** A command's work, printing to the command's standard output. */
    interface Work { void run(PrintWriter out) throws Exception; }

    /**
     * Runs {@code work} for the command and returns its exit code: 0 when it finishes (output flushed); an
     * {@link IOException} or {@link IllegalArgumentException} is the user's (a one-line {@code error:}, exit 2),
     * anything else a crash report ({@link ErrorReporter}).
     */
    static int run(CommandSpec spec, Work work) {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            work.run(o);
            o.flush();
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            return ErrorReporter.reportUserError(e, err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    /** Refuses an output that exists (without --force) or that is one of the inputs. */
    static void checkOutput(Path output, boolean force, Path... inputs) {
        Path target = output.toAbsolutePath().normalize();
        for (Path in : inputs) {
            if (in != null && target.equals(in.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("--output " + output + " is also an input; choose a new file");
            }
        }
        if (Files.isDirectory(target)) throw new IllegalArgumentException("--output " + output + " is a folder; name a file");
        if (Files.exists(target) && !force) {
            throw new IllegalArgumentException("--output " + output + " already exists; choose another file or add --force to replace it");
        }
    }

    /** fp16, bf16 or fp32 (also f16, float16, ...). */
    static DType saveDtype(String s) {
        DType d;
        try {
            d = DType.parse(s);
        } catch (IllegalArgumentException e) {
            d = null;
        }
        if (d != DType.F16 && d != DType.BF16 && d != DType.F32) {
            throw new IllegalArgumentException("--save-precision " + s + " is not a save precision; use fp16, bf16 or fp32");
        }
        return d;
    }

    /** The dtype of a LoRA file's first floating tensor of more than one element (fp32 when none). */
    static DType storedDtype(Path lora) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(lora)) {
            for (TensorInfo t : f.tensors()) {
                if (t.numel() > 1 && (t.dtype() == DType.F16 || t.dtype() == DType.BF16 || t.dtype() == DType.F32)) return t.dtype();
            }
        }
        return DType.F32;
    }

    /** 8, 1.5, 0.3333: integers plain, others with at most 4 significant digits and no trailing zeros. */
    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        if (!Double.isFinite(v)) return Double.toString(v);
        return new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }
}
