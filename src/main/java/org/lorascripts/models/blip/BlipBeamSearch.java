package org.lorascripts.models.blip;

import java.util.Arrays;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Beam search as transformers' vectorised {@code GenerationMixin._beam_search} (early_stopping False, no
 * sampling, one returned sequence): per step every running beam's fp32 log-softmax is added to its score,
 * the best 2k continuations are kept; those ending in [SEP] (or reaching max_length) become finished
 * candidates if ranked in the top k, scored sum_logprobs / generated_length^length_penalty (the length
 * counts the [SEP]); the best k unfinished ones run on. The search ends when no continuation is left or
 * when all k finished slots are filled and the best running beam can no longer beat the worst of them.
 * Reference: https://github.com/huggingface/transformers/blob/main/src/transformers/generation/utils.py
 * (_beam_search, _get_top_k_continuations, _update_finished_beams, _check_early_stop_heuristic).
 */
final class BlipBeamSearch {
    private static final float NEG = -1.0e9f;

    private final BlipForConditionalGeneration model;
    private final int k;
    private final double lengthPenalty;

    BlipBeamSearch(BlipForConditionalGeneration model, int beams, double lengthPenalty) {
        this.model = model;
        this.k = beams;
        this.lengthPenalty = lengthPenalty;
    }

    /** Per image the best finished sequence ({@code start} included), rows padded with HF's fill value to the longest. */
    long[][] generate(Tensor pixels, long[] start, int maxLength) {
        int b = (int) pixels.size(0), prompt = start.length, keep = 2 * k;
        int v = model.config().text().vocabSize(), sep = model.config().text().sepTokenId();
        int padId = model.config().text().padTokenId();
        long fill = padId != 0 ? padId : sep;   // HF: `pad_token_id or eos_token_id[0]`, so a pad id of 0 falls back to [SEP]
        if (prompt >= maxLength) {
            long[][] out = new long[b][];
            for (int i = 0; i < b; i++) out[i] = start.clone();
            return out;
        }
        long[][][] running = new long[b][k][];
        float[][] runningScore = new float[b][k];
        long[][][] finished = new long[b][k][];
        int[][] finishedLen = new int[b][k];
        float[][] finishedScore = new float[b][k];
        boolean[][] isFinished = new boolean[b][k];
        boolean[] unsatisfied = new boolean[b];
        for (int i = 0; i < b; i++) {
            unsatisfied[i] = true;
            for (int j = 0; j < k; j++) {
                running[i][j] = Arrays.copyOf(start, maxLength);
                Arrays.fill(running[i][j], prompt, maxLength, fill);
                runningScore[i][j] = j == 0 ? 0f : NEG;   // only the first beam expands on the first step
                finished[i][j] = running[i][j].clone();
                finishedScore[i][j] = NEG;
            }
        }
        int curLen = prompt;
        try (var ng = Autograd.noGrad(); Scope outer = Scope.open(); BlipTextCache cache = model.text().newCache()) {
            // 1. image embeddings, each repeated for its k beams: (B k, N + 1, Dv)
            Tensor image = model.imageEmbeds(pixels);
            long[] rep = new long[b * k];
            for (int r = 0; r < rep.length; r++) rep[r] = r / k;
            image = image.indexSelect(0, Torch.of(rep).to(image.device()));
            while (true) {
                // 2. fp32 log-probabilities of the next token for every running beam: (B k, V)
                float[] logp;
                try (Scope s = Scope.open()) {
                    int from = (int) cache.length();
                    long[][] flat = new long[b * k][];
                    for (int r = 0; r < b * k; r++) flat[r] = running[r / k][r % k];
                    Tensor logits = model.text().logits(model.tokens(flat, from, curLen), image, cache);
                    logp = Functional.logSoftmax(logits.select(1, curLen - from - 1).to(DType.F32), -1).toFloatArray();
                }
                long[] reorder = new long[b * k];
                boolean allHit = true;
                float norm = (float) Math.pow(curLen + 1 - prompt, lengthPenalty);
                for (int i = 0; i < b; i++) {
                    // 3. the best 2k continuations over all beams of this image
                    float[] acc = new float[k * v];
                    for (int j = 0; j < k; j++) {
                        for (int t = 0; t < v; t++) acc[j * v + t] = logp[(i * k + j) * v + t] + runningScore[i][j];
                    }
                    int[] top = topK(acc, keep);
                    float[] score = new float[keep];
                    long[][] seq = new long[keep][];
                    boolean[] hit = new boolean[keep];
                    int[] src = new int[keep];
                    for (int c = 0; c < keep; c++) {
                        src[c] = top[c] / v;
                        score[c] = acc[top[c]];
                        seq[c] = running[i][src[c]].clone();
                        seq[c][curLen] = top[c] % v;
                        hit[c] = seq[c][curLen] == sep || curLen + 1 >= maxLength;
                        allHit &= hit[c];
                    }
                    // 4. the k best that did not stop run on (stopped ones sink by -1e9)
                    float[] runScore = new float[keep];
                    for (int c = 0; c < keep; c++) runScore[c] = hit[c] ? score[c] + NEG : score[c];
                    int[] next = topK(runScore, k);
                    for (int j = 0; j < k; j++) {
                        running[i][j] = seq[next[j]];
                        runningScore[i][j] = runScore[next[j]];
                        reorder[i * k + j] = (long) i * k + src[next[j]];
                    }
                    // 5. stopped candidates ranked in the top k compete with the finished slots, length-normalised
                    float[] merged = new float[k + keep];
                    for (int j = 0; j < k; j++) merged[j] = finishedScore[i][j];
                    for (int c = 0; c < keep; c++) {
                        float f = score[c] / norm;
                        if (!unsatisfied[i]) f += NEG;
                        if (!(hit[c] && c < k)) f += NEG;
                        merged[k + c] = f;
                    }
                    int[] best = topK(merged, k);
                    long[][] nf = new long[k][];
                    int[] nl = new int[k];
                    float[] ns = new float[k];
                    boolean[] nd = new boolean[k];
                    for (int j = 0; j < k; j++) {
                        int m = best[j];
                        ns[j] = merged[m];
                        if (m < k) {
                            nf[j] = finished[i][m];
                            nl[j] = finishedLen[i][m];
                            nd[j] = isFinished[i][m];
                        } else {
                            nf[j] = seq[m - k];
                            nl[j] = curLen + 1;
                            nd[j] = hit[m - k] && m - k < k;
                        }
                    }
                    finished[i] = nf;
                    finishedLen[i] = nl;
                    finishedScore[i] = ns;
                    isFinished[i] = nd;
                }
                // 6. the cache follows the beams that run on
                try (Scope s = Scope.open()) {
                    cache.select(Torch.of(reorder));
                }
                curLen++;
                // 7. stop when nothing can improve: all slots finished and the best running beam is worse than the worst
                boolean anyUnsatisfied = false;
                for (int i = 0; i < b; i++) {
                    float bestRunning = runningScore[i][0] / (float) Math.pow(curLen - prompt, lengthPenalty);
                    float min = Float.POSITIVE_INFINITY;
                    for (int j = 0; j < k; j++) min = Math.min(min, finishedScore[i][j]);
                    boolean improvable = false;
                    for (int j = 0; j < k; j++) improvable |= bestRunning > (isFinished[i][j] ? min : NEG);
                    unsatisfied[i] &= improvable;
                    anyUnsatisfied |= unsatisfied[i];
                }
                if (!anyUnsatisfied || allHit) break;
            }
        }
        // 8. the best finished sequence per image, cropped to the longest of them
        int longest = prompt;
        for (int i = 0; i < b; i++) longest = Math.max(longest, finishedLen[i][0]);
        long[][] out = new long[b][];
        for (int i = 0; i < b; i++) out[i] = Arrays.copyOf(finished[i][0], longest);
        return out;
    }

    /** Indices of the n largest values, largest first; equal values keep index order. */
    static int[] topK(float[] x, int n) {
        Integer[] order = new Integer[x.length];
        for (int i = 0; i < x.length; i++) order[i] = i;
        Arrays.sort(order, (p, q) -> Float.compare(x[q], x[p]));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = order[i];
        return out;
    }
}
