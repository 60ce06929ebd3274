package org.lorascripts.data;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.lorascripts.config.Resolution;
import org.lorascripts.config.TrainConfig;

/**
 * Aspect-ratio buckets, following kohya sd-scripts' {@code BucketManager} and
 * {@code model_util.make_bucket_resolutions} (github.com/kohya-ss/sd-scripts, library/train_util.py,
 * library/model_util.py). Images of any shape train without being cropped square: each goes to
 * the bucket whose aspect ratio is nearest, is resized to cover it and centre-cropped to it.
 *
 * <p>Without bucketing there is one bucket, the resolution itself (kohya's {@code make_buckets}
 * with {@code enable_bucket} off: the same selection against a single predefined size).
 */
public final class BucketPlan {
    /**
     * An image enlarged more than this to cover its bucket trains on interpolation, not on its content:
     * a 1x1 image would become a flat square of the whole resolution. Such images are skipped.
     */
    public static final double MAX_UPSCALE = 8;
    /**
     * A crop that keeps less than this share of an image is reported by name: the caption describes the
     * whole image, the model sees a slice. Images inside the buckets' aspect range lose at most about 15%
     * with kohya's default steps, so this names the ones beyond the range (and, with enable_bucket off,
     * the ones far from the resolution's shape).
     */
    public static final double MIN_KEPT = 0.8;

    /** What training does with an image, by the rules above and kohya's. */
    public enum Verdict {
        /** Trains (resized and cropped to its bucket as usual). */
        TRAIN,
        /** Trains, but the crop cuts away more than {@code 1 - MIN_KEPT} of it: named in a warning. */
        CROPPED,
        /** Skipped: no bucket fits it (no-upscale, under one step) or it would be enlarged beyond MAX_UPSCALE. */
        TOO_SMALL
    }

    private final boolean fixed;
    private final boolean noUpscale;
    private final long maxArea;
    private final int steps;
    private final List<PixelSize> predefined;
    private final Set<PixelSize> predefinedSet;
    private final double[] predefinedRatios;

    private BucketPlan(boolean fixed, boolean noUpscale, long maxArea, int steps, List<PixelSize> predefined) {
        this.fixed = fixed;
        this.noUpscale = noUpscale;
        this.maxArea = maxArea;
        this.steps = steps;
        this.predefined = List.copyOf(predefined);
        this.predefinedSet = new HashSet<>(predefined);
        this.predefinedRatios = new double[predefined.size()];
        for (int i = 0; i < predefined.size(); i++) predefinedRatios[i] = predefined.get(i).aspectRatio();
    }

    /** The plan the config asks for: kohya buckets when {@code enable_bucket}, else one fixed size. */
    public static BucketPlan of(Resolution resolution, TrainConfig.Buckets buckets) {
        return buckets.enabled()
                ? bucketed(resolution, buckets.minReso(), buckets.maxReso(), buckets.resoSteps(), buckets.noUpscale())
                : fixed(resolution);
    }

    /**
     * kohya's bucketing. With {@code noUpscale} no buckets are predefined (kohya ignores min/max
     * bucket reso then): each image's bucket is its own size, shrunk to the area when larger,
     * rounded down to the steps.
     */
    public static BucketPlan bucketed(Resolution resolution, int minReso, int maxReso, int steps, boolean noUpscale) {
        if (steps <= 0) throw new IllegalArgumentException("bucket_reso_steps must be positive, got " + steps);
        long area = (long) resolution.width() * resolution.height();
        List<PixelSize> sizes = noUpscale ? List.of() : makeBucketResolutions(resolution, minReso, maxReso, steps);
        return new BucketPlan(false, noUpscale, area, steps, sizes);
    }

    /** A single bucket of exactly {@code resolution}: every image is resized to cover it, then cropped. */
    public static BucketPlan fixed(Resolution resolution) {
        PixelSize only = new PixelSize(resolution.width(), resolution.height());
        return new BucketPlan(true, false, only.area(), 1, List.of(only));
    }

    /**
     * kohya's {@code make_bucket_resolutions}: the largest square of the area (rounded down to the
     * steps), then for every width from min to max in steps the largest height, a multiple of the
     * steps, whose rectangle fits the area (capped at max), kept when it is at least min; each with
     * its transpose. Sorted by width, then height.
     */
    public static List<PixelSize> makeBucketResolutions(Resolution resolution, int minSize, int maxSize, int steps) {
        long maxArea = (long) resolution.width() * resolution.height();
        TreeSet<PixelSize> resos = new TreeSet<>();
        int square = (int) (Math.floor(Math.sqrt(maxArea) / steps) * steps);
        resos.add(new PixelSize(square, square));
        for (int width = minSize; width <= maxSize; width += steps) {
            int height = (int) Math.min(maxSize, (maxArea / width) / steps * steps);
            if (height >= minSize) {
                resos.add(new PixelSize(width, height));
                resos.add(new PixelSize(height, width));
            }
        }
        return new ArrayList<>(resos);
    }

    /** The predefined buckets, sorted; empty with {@code bucket_no_upscale}. */
    public List<PixelSize> buckets() {
        return predefined;
    }

    public boolean noUpscale() {
        return noUpscale;
    }

    public int steps() {
        return steps;
    }

    /**
     * kohya's {@code select_bucket}. The bucket is the predefined size with the nearest aspect ratio
     * (plain difference of w/h, the first on ties, as numpy's argmin; an exact size match wins);
     * the image is scaled so that it covers the bucket. With no-upscale, see {@link #bucketed}.
     * A bucket side of 0 means the image is smaller than one step; callers skip such images.
     */
    public BucketAssignment select(int imageWidth, int imageHeight) {
        double aspect = (double) imageWidth / imageHeight;
        PixelSize reso;
        PixelSize resized;
        if (!noUpscale) {
            reso = new PixelSize(imageWidth, imageHeight);
            if (!predefinedSet.contains(reso)) {
                int best = 0;
                for (int i = 1; i < predefinedRatios.length; i++) {
                    if (Math.abs(predefinedRatios[i] - aspect) < Math.abs(predefinedRatios[best] - aspect)) best = i;
                }
                reso = predefined.get(best);
            }
            // Wider than the bucket: match heights (the width overhangs and is cropped); else match widths.
            double scale = aspect > reso.aspectRatio()
                    ? (double) reso.height() / imageHeight
                    : (double) reso.width() / imageWidth;
            resized = new PixelSize((int) (imageWidth * scale + 0.5), (int) (imageHeight * scale + 0.5));
        } else {
            resized = (long) imageWidth * imageHeight > maxArea
                    ? shrinkToArea(aspect)
                    : new PixelSize(imageWidth, imageHeight);
            // Crop, never pad: the bucket is the resized size rounded down to the steps.
            reso = new PixelSize(resized.width() - resized.width() % steps, resized.height() - resized.height() % steps);
        }
        double arError = reso.height() == 0 ? Double.NaN : reso.aspectRatio() - aspect;
        return new BucketAssignment(reso, resized, arError);
    }

    /** The verdict for an image of {@code image} size given its {@link #select} result. */
    public Verdict judge(PixelSize image, BucketAssignment a) {
        if (a.bucket().width() == 0 || a.bucket().height() == 0) return Verdict.TOO_SMALL;
        if (a.upscale(image) > MAX_UPSCALE) return Verdict.TOO_SMALL;
        // With no-upscale the bucket takes the image's own shape: the crop is the rounding down to the
        // steps, less than one step per side, whatever the aspect ratio.
        return !noUpscale && a.keptShare() < MIN_KEPT ? Verdict.CROPPED : Verdict.TRAIN;
    }

    /** The shapes this plan trains without cropping much, in words for warnings. */
    public String aspectRange() {
        if (noUpscale) return "with bucket_no_upscale each image keeps its own shape";
        if (fixed) return "enable_bucket is off: every image is cropped to " + predefined.getFirst();
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (double r : predefinedRatios) {
            lo = Math.min(lo, r);
            hi = Math.max(hi, r);
        }
        return "the buckets hold aspect ratios " + ratio(lo) + " to " + ratio(hi);
    }

    /** "4:1", "1:2.5", "400:1": the way people write aspect ratios. */
    static String ratio(double widthOverHeight) {
        boolean wide = widthOverHeight >= 1;
        double r = wide ? widthOverHeight : 1 / widthOverHeight;
        String n = r >= 10 ? String.format(java.util.Locale.ROOT, "%.0f", r)
                : String.format(java.util.Locale.ROOT, "%.2f", r).replaceAll("\\.?0+$", "");
        return wide ? n + ":1" : "1:" + n;
    }

    /**
     * The no-upscale size of an image larger than the area: same aspect ratio and area, with either
     * the width or the height a multiple of the steps, whichever keeps the aspect ratio closer.
     */
    private PixelSize shrinkToArea(double aspect) {
        double resizedWidth = Math.sqrt(maxArea * aspect);
        double resizedHeight = maxArea / resizedWidth;
        int bWidthRounded = roundToSteps(resizedWidth);
        int bHeightInWr = roundToSteps(bWidthRounded / aspect);
        double arWidthRounded = (double) bWidthRounded / bHeightInWr;
        int bHeightRounded = roundToSteps(resizedHeight);
        int bWidthInHr = roundToSteps(bHeightRounded * aspect);
        double arHeightRounded = (double) bWidthInHr / bHeightRounded;
        if (Math.abs(arWidthRounded - aspect) < Math.abs(arHeightRounded - aspect)) {
            return new PixelSize(bWidthRounded, (int) (bWidthRounded / aspect + 0.5));
        }
        return new PixelSize((int) (bHeightRounded * aspect + 0.5), bHeightRounded);
    }

    /** kohya's {@code round_to_steps}: round to an integer, then down to a multiple of the steps. */
    int roundToSteps(double x) {
        int v = (int) (x + 0.5);
        return v - v % steps;
    }
}
