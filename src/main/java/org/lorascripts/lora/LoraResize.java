package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * Changes the rank of a kohya LoRA as sd-scripts' {@code networks/resize_lora.py}: per module the SVD of
 * {@code up · down} (convolutions flattened to {@code (out, in·kh·kw)}, every 4-D module at the conv rank), the
 * first R components kept ({@code up = U_r·diag(S_r)}, {@code down = Vh_r}) or as many as the dynamic method
 * says, and {@code alpha = (old alpha / old rank) · new rank}, so the scale alpha/rank, and with it the effective
 * delta's size, stays what it was. By Eckart–Young the result is the best rank-R approximation of each module's
 * delta; what it loses is the Frobenius norm of the discarded singular values, reported per module. A module's
 * rank never grows past its old rank: where kohya's dynamic rules ask for more (its index + 1), it writes components
 * that are zero; here the rank stops at the old one, with the same scale and so the same delta.
 */
public final class LoraResize {
    private LoraResize() {}

    /** {@code convRank} for 4-D modules; {@code dynamic} null keeps {@code rank} (then a hard limit otherwise). */
    public record Options(int rank, int convRank, LowRank.Dynamic dynamic, double dynamicParam) {
        public Options {
            if (rank < 1 || convRank < 1) throw new IllegalArgumentException("--rank and --conv-rank must be at least 1");
            if (dynamic != null && !(dynamicParam > 0)) {
                throw new IllegalArgumentException("--dynamic-method " + dynamic.cliName + " needs --dynamic-param above 0");
            }
        }
    }

    /**
     * One module's outcome. {@code froRetained} and {@code sumRetained} are shares of the Frobenius norm and of the
     * sum of singular values kept; {@code error} is the Frobenius norm of (old − new) effective delta
     * (scale·up·down), {@code norm} that of the old one.
     */
    public record ModuleReport(String name, int oldRank, int newRank, double newAlpha, double froRetained, double sumRetained,
                               double maxRatio, double error, double norm) {}

    /** The resized modules (their tensors are the caller's to close, via {@link #close}) and the reports. */
    public record Result(List<KohyaLoraReader.Module> modules, List<ModuleReport> reports, int maxOldRank) implements AutoCloseable {
        public double meanFroRetained() { return reports.stream().mapToDouble(ModuleReport::froRetained).average().orElse(1); }

        public double stdFroRetained() {
            double m = meanFroRetained();
            return Math.sqrt(reports.stream().mapToDouble(r -> (r.froRetained() - m) * (r.froRetained() - m)).average().orElse(0));
        }

        @Override public void close() {
            for (KohyaLoraReader.Module m : modules) {
                m.down().close();
                m.up().close();
            }
        }
    }

    public static Result resize(KohyaLoraReader.LoraFile in, Options o) {
        List<KohyaLoraReader.Module> out = new ArrayList<>();
        List<ModuleReport> reports = new ArrayList<>();
        int maxOld = 0;
        try (var ng = Autograd.noGrad()) {
            for (KohyaLoraReader.Module m : in.modules().values()) {
                maxOld = Math.max(maxOld, m.rank());
                try (Scope s = Scope.open()) {
                    long[] ds = m.down().shape(), us = m.up().shape();
                    boolean conv = ds.length == 4;
                    long outDim = us[0], inFlat = m.down().numel() / ds[0];
                    Tensor.Svd svd = LowRank.svdOfProduct(m.up().reshape(outDim, m.rank()), m.down().reshape(m.rank(), inFlat));
                    double[] sv = LowRank.values(svd);
                    int fullLength = (int) Math.min(outDim, inFlat);
                    int newRank = Math.min(LowRank.chooseRank(sv, fullLength, conv ? o.convRank() : o.rank(), o.dynamic(), o.dynamicParam()),
                            sv.length);
                    double scale = m.scale();
                    double newAlpha = scale * newRank;
                    Tensor[] f = LowRank.factors(svd, newRank);
                    Tensor up = (conv ? f[0].reshape(outDim, newRank, 1, 1) : f[0]).contiguous().keep();
                    long[] downShape = ds.clone();
                    downShape[0] = newRank;
                    Tensor down = f[1].reshape(downShape).contiguous().keep();
                    out.add(new KohyaLoraReader.Module(m.loraName(), down, up, newAlpha, true));
                    double all = 0, kept = 0;
                    for (int i = 0; i < sv.length; i++) {
                        all += Math.abs(sv[i]);
                        if (i < newRank) kept += Math.abs(sv[i]);
                    }
                    double norm = Math.abs(scale) * LowRank.discardedFro(sv, 0);
                    reports.add(new ModuleReport(m.loraName(), m.rank(), newRank, newAlpha, LowRank.froRetained(sv, newRank),
                            all == 0 ? 1 : kept / all, sv[newRank - 1] == 0 ? Double.POSITIVE_INFINITY : sv[0] / sv[newRank - 1],
                            Math.abs(scale) * LowRank.discardedFro(sv, newRank), norm));
                }
            }
        }
        return new Result(out, reports, maxOld);
    }

    /**
     * The input's metadata updated as resize_lora.py does: {@code ss_training_comment} prefixed with what was done,
     * {@code ss_network_dim} / {@code ss_network_alpha} the new rank and, as kohya, the new alpha of the last module
     * ({@code Dynamic} for both after a dynamic resize); old hashes dropped (the writer adds new ones).
     */
    public static Map<String, String> metadata(Map<String, String> old, Options o, Result r) {
        Map<String, String> meta = new LinkedHashMap<>(old);
        meta.remove("sshs_model_hash");
        meta.remove("sshs_legacy_hash");
        String comment = old.getOrDefault("ss_training_comment", "");
        if (o.dynamic() == null) {
            String conv = o.rank() == o.convRank() ? "" : " (conv: " + o.convRank() + ")";
            meta.put("ss_training_comment", "dimension is resized from " + r.maxOldRank() + " to " + o.rank() + conv + "; " + comment);
            meta.put("ss_network_dim", Integer.toString(o.rank()));
            // kohya writes the new alpha of the last module it resized (they differ only between linear and conv ranks)
            meta.put("ss_network_alpha", r.reports().isEmpty() ? pyFloat(o.rank()) : pyFloat(r.reports().getLast().newAlpha()));
        } else {
            meta.put("ss_training_comment", "Dynamic resize with " + o.dynamic().cliName + ": " + pyFloat(o.dynamicParam()) + " from "
                    + r.maxOldRank() + "; " + comment);
            meta.put("ss_network_dim", "Dynamic");
            meta.put("ss_network_alpha", "Dynamic");
        }
        return meta;
    }

    /** Python's str(float) for the plain values that appear here (8.0, 0.5). */
    static String pyFloat(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, "%.1f", v) : Double.toString(v);
    }
}
