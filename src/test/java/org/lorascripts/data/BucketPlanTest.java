package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.Resolution;
import org.lorascripts.config.TrainConfig;

/** kohya's make_bucket_resolutions / select_bucket on values worked out by hand. */
class BucketPlanTest {
    private static PixelSize px(int w, int h) {
        return new PixelSize(w, h);
    }

    /*
     * By hand, resolution 512x512 (max area 262144), min 256, max 1024, steps 64. Square: sqrt = 512.
     * For width w: height = min(1024, floor(floor(262144 / w) / 64) * 64), kept when >= 256:
     *   256 -> 1024, 320 -> 819 -> 768, 384 -> 682 -> 640, 448 -> 585 -> 576, 512 -> 512,
     *   576 -> 455 -> 448, 640 -> 409 -> 384, 704 -> 372 -> 320, 768 -> 341 -> 320,
     *   832 -> 315 -> 256, 896 -> 292 -> 256, 960 -> 273 -> 256, 1024 -> 256.
     * With transposes and duplicates removed: 17 buckets.
     */
    @Test
    void sd15BucketsMatchKohya() {
        List<PixelSize> buckets = BucketPlan.makeBucketResolutions(Resolution.square(512), 256, 1024, 64);
        assertEquals(List.of(px(256, 832), px(256, 896), px(256, 960), px(256, 1024), px(320, 704), px(320, 768),
                px(384, 640), px(448, 576), px(512, 512), px(576, 448), px(640, 384), px(704, 320), px(768, 320),
                px(832, 256), px(896, 256), px(960, 256), px(1024, 256)), buckets);
    }

    @Test
    void everyBucketIsTheLargestOnItsWidthWithinTheArea() {
        Resolution r = new Resolution(768, 512);
        long area = 768L * 512;
        List<PixelSize> buckets = BucketPlan.makeBucketResolutions(r, 320, 1280, 64);
        assertTrue(buckets.contains(px(576, 576)), "square of the area, floor(sqrt(393216) / 64) * 64 = 576");
        for (PixelSize b : buckets) {
            assertEquals(0, b.width() % 64, b.toString());
            assertEquals(0, b.height() % 64, b.toString());
            assertTrue(b.area() <= area, b + " exceeds the area");
            assertTrue(b.width() >= 320 && b.height() >= 320 && b.width() <= 1280 && b.height() <= 1280, b.toString());
            assertTrue(buckets.contains(px(b.height(), b.width())), "transpose of " + b);
        }
    }

    @Test
    void selectsNearestAspectRatioAndCoversTheBucket() {
        BucketPlan plan = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, false);
        // 4:3 = 1.333; nearest ratios 576/448 = 1.286 and 640/384 = 1.667. Wider than the bucket, so the
        // heights match: scale 448/750, width int(1000 * 448 / 750 + 0.5) = 597.
        BucketAssignment a = plan.select(1000, 750);
        assertEquals(px(576, 448), a.bucket());
        assertEquals(px(597, 448), a.resized());
        assertEquals(576.0 / 448 - 1000.0 / 750, a.aspectError(), 1e-12);

        // 1:3 = 0.333; 256/832 = 0.308 beats 320/768 = 0.417; the image is relatively wider, so heights match.
        BucketAssignment tall = plan.select(300, 900);
        assertEquals(px(256, 832), tall.bucket());
        assertEquals(px(277, 832), tall.resized());   // int(300 * 832 / 900 + 0.5)

        // An image already of a bucket's size goes there even when another bucket has the same ratio.
        assertEquals(px(768, 320), plan.select(768, 320).bucket());
        assertEquals(px(768, 320), plan.select(768, 320).resized());
        // Small square images are enlarged to 512x512.
        assertEquals(px(512, 512), plan.select(100, 100).resized());
    }

    @Test
    void noUpscaleKeepsSmallImagesAndShrinksLargeOnesToTheArea() {
        BucketPlan plan = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, true);
        assertEquals(List.of(), plan.buckets());
        BucketAssignment small = plan.select(300, 200);
        assertEquals(px(300, 200), small.resized());
        assertEquals(px(256, 192), small.bucket());   // rounded down to 64: crop, never pad

        // 2000x1000 (ratio 2) over the area: width sqrt(262144 * 2) = 724.08 -> 704 gives height 352 -> 320 (ratio 2.2);
        // height 362.04 -> 320 gives width 640 (ratio 2.0 exactly), which wins.
        BucketAssignment large = plan.select(2000, 1000);
        assertEquals(px(640, 320), large.resized());
        assertEquals(px(640, 320), large.bucket());

        assertEquals(0, plan.select(50, 400).bucket().width(), "narrower than one step: caller must skip it");
    }

    @Test
    void withoutBucketingEveryImageCoversTheResolution() {
        BucketPlan plan = BucketPlan.of(Resolution.square(512), new TrainConfig.Buckets(false, 256, 1024, 64, false));
        assertEquals(List.of(px(512, 512)), plan.buckets());
        BucketAssignment a = plan.select(1024, 768);
        assertEquals(px(512, 512), a.bucket());
        assertEquals(px(683, 512), a.resized());   // int(1024 * 512 / 768 + 0.5)
        assertEquals(px(512, 683), plan.select(768, 1024).resized());
    }

    @Test
    void judgeSkipsWhatWouldBeBlownUpAndNamesHardCrops() {
        BucketPlan plan = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, false);
        assertEquals(BucketPlan.Verdict.TRAIN, judge(plan, 1000, 750));
        assertEquals(BucketPlan.Verdict.TRAIN, judge(plan, 64, 64), "enlarged exactly 8x");
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(plan, 63, 63));
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(plan, 1, 1));
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(plan, 4000, 10));
        assertEquals(BucketPlan.Verdict.TRAIN, judge(plan, 1100, 256), "4.3:1 keeps 93%");
        assertEquals(BucketPlan.Verdict.CROPPED, judge(plan, 2000, 250), "8:1 keeps half");
        assertEquals(BucketPlan.Verdict.CROPPED, judge(plan, 250, 2000));
        assertEquals(0.5, plan.select(2000, 250).keptShare(), 1e-3);
        assertEquals(25.6, plan.select(4000, 10).upscale(px(4000, 10)), 1e-9);
        assertEquals("the buckets hold aspect ratios 1:4 to 4:1", plan.aspectRange());

        BucketPlan noUp = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, true);
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(noUp, 1, 1));
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(noUp, 4000, 10));
        assertEquals(BucketPlan.Verdict.TRAIN, judge(noUp, 2000, 250), "its own 8:1 bucket: only the rounding crops");
        assertEquals(px(1024, 128), noUp.select(2000, 250).bucket());

        BucketPlan fixed = BucketPlan.fixed(Resolution.square(512));
        assertEquals(BucketPlan.Verdict.CROPPED, judge(fixed, 640, 480), "4:3 into a square keeps 75%");
        assertEquals(BucketPlan.Verdict.TRAIN, judge(fixed, 600, 512));
        assertEquals(BucketPlan.Verdict.TOO_SMALL, judge(fixed, 1, 1));
        assertEquals("enable_bucket is off: every image is cropped to 512x512", fixed.aspectRange());
    }

    @Test
    void aspectRatiosAreWrittenAsPeopleWriteThem() {
        assertEquals("4:1", BucketPlan.ratio(4));
        assertEquals("1:4", BucketPlan.ratio(0.25));
        assertEquals("2.4:1", BucketPlan.ratio(2.4));
        assertEquals("1:1", BucketPlan.ratio(1));
        assertEquals("400:1", BucketPlan.ratio(400));
    }

    private static BucketPlan.Verdict judge(BucketPlan plan, int w, int h) {
        return plan.judge(px(w, h), plan.select(w, h));
    }

    @Test
    void roundToStepsRoundsThenFloors() {
        BucketPlan plan = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, true);
        assertEquals(704, plan.roundToSteps(724.08));
        assertEquals(320, plan.roundToSteps(383.4));
        assertEquals(384, plan.roundToSteps(383.5));
    }

    @Test
    void statsCountImagesPerBucketSortedAsKohya() {
        BucketPlan plan = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, false);
        BucketStats s = BucketStats.of(List.of(plan.select(1000, 750), plan.select(512, 512), plan.select(800, 600),
                plan.select(300, 900)));
        assertEquals(List.of(new BucketStats.Entry(px(256, 832), 1), new BucketStats.Entry(px(512, 512), 1),
                new BucketStats.Entry(px(576, 448), 2)), s.buckets());
        double mean = (2 * Math.abs(576.0 / 448 - 4.0 / 3) + Math.abs(256.0 / 832 - 1.0 / 3)) / 4;
        assertEquals(mean, s.meanAspectError(), 1e-12);
        assertEquals("bucket 2: 576x448, 2 images", s.lines().get(2));
        assertTrue(s.toJson().startsWith("{\"buckets\":{\"0\":{\"resolution\":[256,832],\"count\":1},"), s.toJson());
    }
}
