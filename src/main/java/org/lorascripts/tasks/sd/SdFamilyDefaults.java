package org.lorascripts.tasks.sd;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.Resolution;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.config.ValueKind;
import org.lorascripts.config.ValueText;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;

/**
 * Settings whose meaning depends on the base model's family, which the config layer cannot know
 * (it does not read models): resolved here once the family is known, by the trainer
 * ({@link SdLoraTask}) and by the dry run alike, so both use the same buckets.
 *
 * <ul>
 *   <li>Buckets: kohya's SDXL recipe trains at 1024 with buckets 512-2048. For SDXL a bucket bound
 *       the user did not set follows the resolution: min_bucket_reso = resolution/2 (shorter side,
 *       rounded down to a multiple of 8), max_bucket_reso = resolution*2 (longer side). SD 1.x/2.x keep
 *       the config's defaults (256-1024, fitted to the resolution by the config layer).</li>
 *   <li>text_encoder_lr with two values: SDXL's TE1 and TE2. SD 1.x/2.x have one text encoder and take
 *       the first value, as kohya's networks do (the second is ignored, with a warning).</li>
 * </ul>
 */
public final class SdFamilyDefaults {
    private SdFamilyDefaults() {}

    /** The buckets training uses with a base of {@code family}: SDXL's defaults for bounds the user left unset. */
    public static TrainConfig.Buckets buckets(TrainConfig c, SdFamily family) {
        TrainConfig.Buckets b = c.image().buckets();
        if (family != SdFamily.SDXL) return b;
        Resolution r = c.image().resolution();
        int min = b.minResoSet() ? b.minReso() : sdxlMin(r);
        int max = b.maxResoSet() ? b.maxReso() : sdxlMax(r);
        if (min > max) return b;   // a user bound beyond the other's SDXL default: keep the config's pair, which it validated
        return b.withRange(min, max);
    }

    /** SDXL's default smallest bucket side: half the resolution's shorter side, a multiple of 8. */
    static int sdxlMin(Resolution r) {
        return Math.max(8, Math.min(r.width(), r.height()) / 2 / 8 * 8);
    }

    /** SDXL's default largest bucket side: twice the resolution's longer side (at most 8192). */
    static int sdxlMax(Resolution r) {
        return Math.min(8192, Math.max(r.width(), r.height()) * 2);
    }

    /** The config with the buckets of {@link #buckets}. */
    public static TrainConfig resolve(TrainConfig c, SdFamily family) {
        TrainConfig.Buckets b = buckets(c, family);
        return b.equals(c.image().buckets()) ? c : c.withBuckets(b);
    }

    /**
     * The bucket range in use and why, for the plan and the log: "512-2048 (SDXL default: resolution/2 to
     * resolution*2)", "256-1024 (default)", "64-1024 (min_bucket_reso set)".
     */
    public static String bucketRange(TrainConfig c, SdFamily family) {
        TrainConfig.Buckets b = buckets(c, family);
        String range = b.minReso() + "-" + b.maxReso();
        if (!b.enabled()) return range + " (unused: enable_bucket is false)";
        boolean xl = family == SdFamily.SDXL;
        String min = b.minResoSet() ? "set" : xl ? "SDXL default" : "default";
        String max = b.maxResoSet() ? "set" : xl ? "SDXL default" : "default";
        String why;
        if (!min.equals(max)) why = "min_bucket_reso " + min + ", max_bucket_reso " + max;
        else if (min.equals("SDXL default")) why = "SDXL default: resolution/2 to resolution*2";
        else why = min.equals("set") ? "min_bucket_reso and max_bucket_reso set" : "default";
        return range + " (" + why + (b.noUpscale() ? "; bucket_no_upscale ignores the range" : "") + ")";
    }

    /** A warning when text_encoder_lr names more rates than the base has text encoders; empty otherwise. */
    public static Optional<String> textEncoderLrWarning(TrainConfig c, SdFamily family) {
        List<Double> lrs = c.optimizer().textEncoderLrs();
        int encoders = family == SdFamily.SDXL ? 2 : 1;
        if (lrs.size() <= encoders || !c.lora().trainTextEncoder()) return Optional.empty();
        return Optional.of("text_encoder_lr has " + lrs.size() + " values but " + family.displayName + " has one text encoder;"
                + " it trains at the first, " + ValueText.format(lrs.getFirst(), ValueKind.FLOAT) + ", and the second is ignored (as kohya does); give one number");
    }

    /**
     * The family of the config's base model, read from its headers and configs (no weights loaded);
     * empty when it cannot be read (the model checks report why).
     */
    public static Optional<SdFamily> detect(TrainConfig c) {
        return switch (c.model().baseModel()) {
            case BaseModel.Builtin b -> b.name().equals("tiny-sd") ? Optional.of(SdFamily.SD1) : Optional.empty();
            case BaseModel.Local l -> detect(l.path(), c.model().ldmConfig().orElse(null));
        };
    }

    private static Optional<SdFamily> detect(Path path, Path ldmConfig) {
        try (SdCheckpoint ckpt = SdCheckpointLoader.open(path, null, ldmConfig, null)) {
            return Optional.of(ckpt.family());
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
