package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.lorascripts.data.BucketAssignment;
import org.lorascripts.data.ImageExample;
import org.lorascripts.data.ImageTransform;
import org.lorascripts.data.PixelSize;

/** SDXL's per-example time ids: kohya's (original h, w, crop top, left, target h, w). */
class SdxlConditioningTest {
    private static ImageExample example(int w, int h, BucketAssignment a) {
        return new ImageExample("x.png", Path.of("x.png"), new PixelSize(w, h), "", a, 0, 0);
    }

    @Test void timeIdsAreTheOriginalSizeTheCropInTheResizedImageAndTheBucket() {
        // 2000x1000 landscape → resized 1536x768, cropped to the 1024x768 bucket at left 256
        BucketAssignment a = new BucketAssignment(new PixelSize(1024, 768), new PixelSize(1536, 768), 0);
        ImageTransform.Placement p = new ImageTransform.Placement(a.resized(), a.bucket(), 256, 0, false);
        assertArrayEquals(new float[] {1000, 2000, 0, 256, 768, 1024}, SdxlConditioning.timeIds(example(2000, 1000, a), p));
    }

    @Test void examplesOfOneBucketGetTheirOwnTimeIds() {
        PixelSize bucket = new PixelSize(512, 512);
        BucketAssignment square = new BucketAssignment(bucket, bucket, 0);
        BucketAssignment tall = new BucketAssignment(bucket, new PixelSize(512, 640), 0);
        float[] a = SdxlConditioning.timeIds(example(1024, 1024, square), new ImageTransform.Placement(bucket, bucket, 0, 0, false));
        float[] b = SdxlConditioning.timeIds(example(800, 1000, tall), new ImageTransform.Placement(tall.resized(), bucket, 0, 64, false));
        assertArrayEquals(new float[] {1024, 1024, 0, 0, 512, 512}, a);
        assertArrayEquals(new float[] {1000, 800, 64, 0, 512, 512}, b);
    }

    @Test void aFlippedCropIsMeasuredFromTheMirroredEdge() {
        BucketAssignment a = new BucketAssignment(new PixelSize(512, 512), new PixelSize(640, 512), 0);
        ImageTransform.Placement p = new ImageTransform.Placement(a.resized(), a.bucket(), 32, 0, true);
        assertEquals(640 - 32 - 512, SdxlConditioning.timeIds(example(1280, 1024, a), p)[3]);
    }

    @Test void resolutionNoteOnlyBelowSdxlsTrainingSize() {
        assertNotNull(SdxlConditioning.resolutionNote(512, 512));
        assertNull(SdxlConditioning.resolutionNote(1024, 1024));
    }
}
