package org.lorascripts.demo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.train.schedule.LrSchedule;
import org.lorascripts.train.schedule.LrSchedules;

/**
 * Every weight of a model trained from scratch, for the demo-model pretrainers: the weights become
 * trainable leaves, AdamW with warmup + cosine updates them, an exponential moving average (EMA)
 * of them is what gets saved (diffusion models sample far better from the EMA), and the loss is
 * read back only every {@code logEvery} steps so the GPU never waits for the host in between.
 */
final class FullTraining implements AutoCloseable {
    private final List<NamedParam> params = new ArrayList<>();
    private final Map<String, Tensor> ema = new LinkedHashMap<>();
    private final AdamW optimizer;
    private LrSchedule schedule;
    private final double lr;
    private final long warmup;
    private final double emaDecay;
    private long totalSteps;
    private double budgetSeconds;
    private long probeStart = -1;
    private final String label;
    private final PrintStream log;
    private final int logEvery;
    private final Tensor lossSum;
    private final long started = System.nanoTime();
    private long step;

    /**
     * @param weights  the model's weights by name (fp32 leaves, owned by the model)
     * @param emaDecay 0 = no EMA (the raw weights are saved)
     */
    FullTraining(String label, Map<String, Tensor> weights, double lr, double weightDecay, long warmup, long totalSteps,
                 double emaDecay, Device device, PrintStream log, int logEvery) {
        this.label = label;
        this.totalSteps = totalSteps;
        this.emaDecay = emaDecay;
        this.log = log;
        this.logEvery = logEvery;
        for (var e : weights.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.F32) throw new IllegalArgumentException(e.getKey() + " is " + t.dtype().displayName() + "; train in f32");
            t.requiresGrad_(true);
            params.add(new NamedParam(e.getKey(), t));
            if (emaDecay > 0) {
                try (Autograd.GradMode g = Autograd.noGrad()) {
                    ema.put(e.getKey(), t.detach().copy().keep());
                }
            }
        }
        this.optimizer = new AdamW(params, 0.9, 0.99, 1e-8, weightDecay);
        this.lr = lr;
        this.warmup = warmup;
        this.schedule = schedule(totalSteps);
        this.lossSum = Torch.zeros(new long[0], DType.F32, device).keep();
    }

    private LrSchedule schedule(long total) {
        return LrSchedules.create("cosine", lr, Math.min(warmup, total / 5), total, 1, 1.0);
    }

    /**
     * Fits the run into {@code seconds} of wall time: after a short probe, the total step count
     * becomes what the measured speed allows (never more than planned), and the cosine schedule is
     * stretched to it. The probe steps are still in warm-up, which does not depend on the total.
     */
    FullTraining withTimeBudget(double seconds) {
        this.budgetSeconds = seconds;
        return this;
    }

    private static final int PROBE_FROM = 20, PROBE_TO = 100;

    private void retargetIfBudgeted() {
        if (budgetSeconds <= 0) return;
        if (step == PROBE_FROM) probeStart = System.nanoTime();
        if (step != PROBE_TO || probeStart < 0) return;
        lossSum.item();                                        // wait for the GPU, so the rate is real
        double rate = (PROBE_TO - PROBE_FROM) / ((System.nanoTime() - probeStart) / 1e9);
        long fit = step + (long) (rate * Math.max(0, budgetSeconds - seconds()));
        if (fit < totalSteps) {
            totalSteps = Math.max(fit, step + 1);
            schedule = schedule(totalSteps);
        }
        log.printf(Locale.ROOT, "%s: %.1f steps/s, %d steps fit in %.0f s -> training %d steps%n", label, rate, fit, budgetSeconds, totalSteps);
    }

    long step() { return step; }

    boolean done() { return step >= totalSteps; }

    /** Backward of {@code loss} (a 0-dim mean), one optimizer step, the EMA update. */
    void step(Tensor loss) {
        loss.backward();
        optimizer.step(schedule.lr(step));
        optimizer.zeroGrad();
        step++;
        retargetIfBudgeted();
        try (Autograd.GradMode g = Autograd.noGrad()) {
            lossSum.add_(loss.detach().to(DType.F32));
            if (emaDecay > 0) {
                double d = Math.min(emaDecay, (1.0 + step) / (10.0 + step));   // warm-up of the average, as diffusers' EMAModel
                for (NamedParam p : params) ema.get(p.name()).lerp_(p.tensor(), 1 - d);
            }
        }
        if (step % logEvery == 0 || step == totalSteps) {
            double mean = lossSum.item() / (step % logEvery == 0 ? logEvery : step % logEvery);
            lossSum.zero_();
            double s = (System.nanoTime() - started) / 1e9;
            log.printf(Locale.ROOT, "%s step %d/%d loss %.4f lr %.2e %.1f steps/s %.0fs%n", label, step, totalSteps, mean,
                    schedule.lr(step - 1), step / s, s);
            log.flush();
        }
    }

    /** The weights to save: the EMA when kept, else the trained weights themselves. */
    Map<String, Tensor> result() {
        if (emaDecay > 0) return ema;
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (NamedParam p : params) m.put(p.name(), p.tensor());
        return m;
    }

    double seconds() { return (System.nanoTime() - started) / 1e9; }

    @Override public void close() {
        optimizer.close();
        ema.values().forEach(Tensor::close);
        lossSum.close();
    }
}
