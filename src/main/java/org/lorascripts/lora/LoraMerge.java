package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Several kohya LoRAs into one. Per module the merged delta is {@code Σ weight_i · (alpha_i / rank_i) · up_i · down_i}
 * over the LoRAs that have the module, stored either
 * <ul>
 *   <li>exactly, by concatenating ranks ({@code rank == null}): {@code down = [down_1; down_2; …]},
 *       {@code up = [w_1·s_1·up_1, w_2·s_2·up_2, …]}, alpha = the summed rank (scale 1); or</li>
 *   <li>re-decomposed to {@code rank} (3x3 convolutions: {@code convRank}) by SVD, as sd-scripts'
 *       {@code networks/svd_merge_lora.py}: the best approximation of that rank (Eckart–Young), factors clamped at
 *       {@code clampQuantile} as kohya does (1 = none), alpha = the rank.</li>
 * </ul>
 * The SVD is taken of the concatenated factors' product ({@link LowRank#svdOfProduct}), never of a full matrix.
 */
public final class LoraMerge {
    private LoraMerge() {}

    public record Weighted(KohyaLoraReader.LoraFile lora, double weight) {}

    /** The merged modules (tensors the caller's to close) and, per module, the Frobenius share the SVD kept (1 when concatenated). */
    public record Result(List<KohyaLoraReader.Module> modules, Map<String, Double> froRetained) implements AutoCloseable {
        @Override public void close() {
            for (KohyaLoraReader.Module m : modules) {
                m.down().close();
                m.up().close();
            }
        }
    }

    public static Result merge(List<Weighted> loras, Integer rank, Integer convRank, double clampQuantile) {
        if (loras.isEmpty()) throw new IllegalArgumentException("no LoRA to merge");
        Map<String, List<KohyaLoraReader.Module>> byName = new LinkedHashMap<>();
        Map<String, List<Double>> weights = new LinkedHashMap<>();
        for (Weighted w : loras) {
            for (KohyaLoraReader.Module m : w.lora().modules().values()) {
                List<KohyaLoraReader.Module> same = byName.computeIfAbsent(m.loraName(), k -> new ArrayList<>());
                if (!same.isEmpty()) checkShapes(same.get(0), m, w);
                same.add(m);
                weights.computeIfAbsent(m.loraName(), k -> new ArrayList<>()).add(w.weight());
            }
        }
        List<KohyaLoraReader.Module> out = new ArrayList<>();
        Map<String, Double> kept = new LinkedHashMap<>();
        try (var ng = Autograd.noGrad()) {
            for (var e : byName.entrySet()) {
                try (Scope s = Scope.open()) {
                    List<KohyaLoraReader.Module> ms = e.getValue();
                    KohyaLoraReader.Module first = ms.get(0);
                    long[] ds = first.down().shape();
                    long outDim = first.up().size(0), inFlat = first.down().numel() / first.rank();
                    List<Tensor> ups = new ArrayList<>(), downs = new ArrayList<>();
                    int total = 0;
                    for (int i = 0; i < ms.size(); i++) {
                        KohyaLoraReader.Module m = ms.get(i);
                        ups.add(m.up().reshape(outDim, m.rank()).mul(weights.get(e.getKey()).get(i) * m.scale()));
                        downs.add(m.down().reshape(m.rank(), inFlat));
                        total += m.rank();
                    }
                    Tensor up = Torch.cat(ups, 1), down = Torch.cat(downs, 0);
                    boolean conv3x3 = ds.length == 4 && (ds[2] != 1 || ds[3] != 1);
                    int r;
                    if (rank == null) {
                        r = total;
                        kept.put(e.getKey(), 1.0);
                    } else {
                        int target = conv3x3 && convRank != null ? convRank : rank;
                        Tensor.Svd svd = LowRank.svdOfProduct(up, down);
                        double[] sv = LowRank.values(svd);
                        r = (int) Math.min(target, sv.length);
                        Tensor[] f = LowRank.fromSvd(svd, r, clampQuantile);
                        up = f[0];
                        down = f[1];
                        kept.put(e.getKey(), LowRank.froRetained(sv, r));
                    }
                    long[] downShape = ds.clone();
                    downShape[0] = r;
                    Tensor u = (ds.length == 4 ? up.reshape(outDim, r, 1, 1) : up).contiguous().keep();
                    Tensor d = down.reshape(downShape).contiguous().keep();
                    out.add(new KohyaLoraReader.Module(e.getKey(), d, u, r, true));
                }
            }
        }
        return new Result(out, kept);
    }

    private static void checkShapes(KohyaLoraReader.Module a, KohyaLoraReader.Module b, Weighted w) {
        long[] da = a.down().shape(), db = b.down().shape();
        boolean same = a.up().size(0) == b.up().size(0) && da.length == db.length;
        for (int i = 1; same && i < da.length; i++) same = da[i] == db[i];
        if (!same) {
            throw new IllegalArgumentException(w.lora().path() + ": " + b.loraName() + " has another shape than in the LoRAs before it;"
                    + " the LoRAs were made for different base models");
        }
    }
}
