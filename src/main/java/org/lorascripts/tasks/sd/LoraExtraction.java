package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.LowRank;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A LoRA from the difference of two single-file checkpoints of one architecture, as sd-scripts'
 * {@code networks/extract_lora_from_models.py}: per kohya module ({@link CheckpointLoraTargets}) the SVD of
 * {@code tuned − base} in fp32 (3x3 convolutions flattened, at the conv rank when one is given, else only linear
 * and 1x1 modules as kohya's network without conv_dim), rank {@code min(rank, in, out)}, {@code up = U_r·diag(S_r)},
 * {@code down = Vh_r}, both clamped at the {@code clampQuantile} quantile, {@code alpha = rank} (scale 1). Text
 * encoders are kept only when some weight of theirs changed by more than {@code minDiff} (kohya's
 * {@code --min_diff}), as kohya decides. Works on the CPU, one module at a time.
 */
public final class LoraExtraction {
    private LoraExtraction() {}

    /** {@code convRank} null: no 3x3 convolution modules (kohya without --conv_dim). */
    public record Options(int rank, Integer convRank, double clampQuantile, double minDiff) {
        public Options {
            if (rank < 1) throw new IllegalArgumentException("--rank must be at least 1");
            if (convRank != null && convRank < 1) throw new IllegalArgumentException("--conv-rank must be at least 1");
            if (!(clampQuantile > 0 && clampQuantile <= 1)) throw new IllegalArgumentException("--clamp-quantile must be in (0, 1], got " + clampQuantile);
        }
    }

    /** Modules (fp32 CPU tensors, the caller's to close), the Frobenius share each kept, and the kohya metadata. */
    public record Result(SdFamily family, List<KohyaLoraReader.Module> modules, Map<String, Double> froRetained, boolean textEncoders,
                         double maxTextEncoderDiff, Map<String, String> metadata) implements AutoCloseable {
        @Override public void close() {
            for (KohyaLoraReader.Module m : modules) {
                m.down().close();
                m.up().close();
            }
        }
    }

    public static Result extract(Path base, Path tuned, Options o) throws IOException {
        try (SafetensorsFile b = SafetensorsFile.open(base); SafetensorsFile t = SafetensorsFile.open(tuned)) {
            var layoutB = CheckpointLoraTargets.of(base, b, o.convRank() != null);
            var layoutT = CheckpointLoraTargets.of(tuned, t, o.convRank() != null);
            if (layoutB.family() != layoutT.family()) {
                throw new IllegalArgumentException("--base " + base + " is " + layoutB.family().displayName + " but --tuned " + tuned + " is "
                        + layoutT.family().displayName + "; both must be the same architecture");
            }
            for (var target : layoutB.targets()) {
                TensorInfo ti = t.contains(target.key()) ? t.info(target.key()) : null;
                if (ti == null || !Arrays.equals(ti.shape(), b.info(target.key()).shape())) {
                    throw new IllegalArgumentException("--tuned " + tuned + ": " + target.key() + (ti == null ? " is missing" : " has shape "
                            + TensorInfo.shapeString(ti.shape()) + " instead of " + TensorInfo.shapeString(b.info(target.key()).shape()))
                            + "; the two checkpoints must be the same architecture and size");
                }
            }
            List<KohyaLoraReader.Module> modules = new ArrayList<>();
            Map<String, Double> kept = new LinkedHashMap<>();
            double maxTe = 0;
            try (var ng = Autograd.noGrad()) {
                // kohya: text encoders only if one of their weights moved more than min_diff
                for (var target : layoutB.targets()) {
                    if (!target.textEncoder()) continue;
                    try (Scope s = Scope.open()) {
                        maxTe = Math.max(maxTe, diff(b, t, target).abs().amax().item());
                    }
                }
                boolean te = maxTe > o.minDiff();
                for (var target : layoutB.targets()) {
                    if (target.textEncoder() && !te) continue;
                    if (target.conv3x3() && o.convRank() == null) continue;
                    try (Scope s = Scope.open()) {
                        long[] shape = target.shape();
                        int rank = target.conv3x3() ? o.convRank() : o.rank();
                        rank = (int) Math.min(rank, Math.min(shape[0], shape[1]));
                        Tensor d = diff(b, t, target);
                        Tensor[] f = LowRank.fromDelta(d.reshape(shape[0], -1), rank, o.clampQuantile());
                        double[] sv = f[2].toDoubleArray();
                        Tensor up = (target.conv() ? f[0].reshape(shape[0], rank, 1, 1) : f[0]).contiguous().keep();
                        long[] downShape = shape.clone();
                        downShape[0] = rank;
                        Tensor down = f[1].reshape(downShape).contiguous().keep();
                        modules.add(new KohyaLoraReader.Module(target.loraName(), down, up, rank, true));
                        kept.put(target.loraName(), LowRank.froRetained(sv, rank));
                    }
                }
                return new Result(layoutB.family(), modules, kept, te, maxTe, metadata(layoutB.family(), o));
            }
        }
    }

    /** tuned − base of one target's weight rows, fp32 on the CPU. */
    private static Tensor diff(SafetensorsFile b, SafetensorsFile t, CheckpointLoraTargets.Target target) throws IOException {
        Tensor wb = TensorIO.read(b, target.key(), Device.CPU, DType.F32), wt = TensorIO.read(t, target.key(), Device.CPU, DType.F32);
        Tensor d = wt.sub(wb);
        return d.size(0) == target.shape()[0] ? d : d.narrow(0, target.rowStart(), target.shape()[0]);
    }

    /** kohya's extraction metadata. */
    static Map<String, String> metadata(SdFamily family, Options o) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ss_v2", family == SdFamily.SD2 ? "True" : "False");
        m.put("ss_base_model_version", CheckpointLoraTargets.baseModelVersion(family));
        m.put("ss_network_module", "networks.lora");
        m.put("ss_network_dim", Integer.toString(o.rank()));
        m.put("ss_network_alpha", SdLoraMetadata.pyFloat(o.rank()));
        m.put("ss_network_args", o.convRank() == null ? "{}"
                : "{\"conv_dim\": \"" + o.convRank() + "\", \"conv_alpha\": \"" + SdLoraMetadata.pyFloat(o.convRank()) + "\"}");
        return m;
    }
}
