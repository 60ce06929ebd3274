package org.lorascripts.models.llm;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Autoregressive text generation for one prompt: greedy, or sampling with temperature, top-k and
 * top-p (applied in that order, as transformers' logits warpers) from a seeded generator, so a
 * seed always gives the same tokens. With the KV cache each step feeds only the newest token;
 * without it each step recomputes the whole prefix (the reference the cache is tested against).
 */
public final class Generator {
    private final LlamaForCausalLM model;

    /**
     * @param temperature <= 0 means greedy (argmax)
     * @param topP        keep the most likely tokens whose mass reaches topP (>= 1: off)
     * @param topK        keep the k most likely tokens (<= 0: off)
     * @param eosTokenIds stop at any of these; null uses the model config's eos ids
     */
    public record Options(int maxNewTokens, double temperature, double topP, int topK, long seed, long[] eosTokenIds, boolean useCache) {
        public static Options greedy(int maxNewTokens) { return new Options(maxNewTokens, 0, 1, 0, 0, null, true); }

        public static Options sample(int maxNewTokens, double temperature, double topP, int topK, long seed) {
            return new Options(maxNewTokens, temperature, topP, topK, seed, null, true);
        }

        public Options withCache(boolean on) { return new Options(maxNewTokens, temperature, topP, topK, seed, eosTokenIds, on); }

        public Options withEos(long... ids) { return new Options(maxNewTokens, temperature, topP, topK, seed, ids, useCache); }
    }

    public Generator(LlamaForCausalLM model) { this.model = model; }

    /** The new tokens (ending with the EOS token when one was produced). */
    public long[] generate(long[] prompt, Options o) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt must hold at least one token");
        long[] eos = o.eosTokenIds() != null ? o.eosTokenIds() : model.config().eosTokenIds();
        SplittableRandom rng = new SplittableRandom(o.seed());
        long[] seq = Arrays.copyOf(prompt, prompt.length + o.maxNewTokens());
        int len = prompt.length, produced = 0;
        try (var ng = Autograd.noGrad(); KvCache cache = o.useCache() ? model.newCache() : null) {
            while (produced < o.maxNewTokens()) {
                float[] logits;
                try (Scope s = Scope.open()) {
                    // 1. feed the uncached tokens: the whole prompt first, then one token per step
                    int from = cache == null ? 0 : (int) cache.length();
                    Tensor ids = Torch.of(Arrays.copyOfRange(seq, from, len), 1, len - from).to(model.device());   // (1, T)
                    Tensor all = model.logits(ids, null, null, null, cache);                                         // (1, T, V)
                    // 2. the last position's logits, fp32
                    logits = all.select(1, len - from - 1).select(0, 0).to(DType.F32).toFloatArray();               // (V)
                }
                // 3. pick the next token
                long next = pick(logits, o, rng);
                seq[len++] = next;
                produced++;
                if (contains(eos, next)) break;
            }
        }
        return Arrays.copyOfRange(seq, prompt.length, len);
    }

    static long pick(float[] logits, Options o, SplittableRandom rng) {
        if (o.temperature() <= 0) return argmax(logits);
        int v = logits.length;
        double[] x = new double[v];
        for (int i = 0; i < v; i++) x[i] = logits[i] / o.temperature();
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(x[b], x[a]));   // most likely first (stable: ties by index)
        int keep = v;
        // top-k: tokens scoring below the k-th best go (ties with it stay, as transformers does)
        if (o.topK() > 0 && o.topK() < v) {
            double kth = x[order[o.topK() - 1]];
            keep = o.topK();
            while (keep < v && x[order[keep]] == kth) keep++;
        }
        double max = x[order[0]];
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) sum += p[i] = Math.exp(x[order[i]] - max);
        // top-p: keep a token while the mass ranked above it is below topP
        if (o.topP() < 1) {
            double above = 0;
            int n = 0;
            while (n < keep && above < o.topP() * sum) above += p[n++];
            keep = Math.max(n, 1);
            sum = 0;
            for (int i = 0; i < keep; i++) sum += p[i];
        }
        double u = rng.nextDouble() * sum, acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }

    /** Index of the largest logit, the first on ties (as torch.argmax). */
    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static boolean contains(long[] ids, long t) {
        for (long e : ids) if (e == t) return true;
        return false;
    }
}
