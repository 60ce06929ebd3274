package org.lorascripts.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.lorascripts.io.Json;

/**
 * How many images each bucket holds, for the dry run and for kohya's {@code ss_bucket_info}
 * metadata (same shape as kohya's {@code bucket_info}: used buckets sorted by resolution and
 * numbered from 0, and the mean absolute aspect-ratio error of the images).
 */
public record BucketStats(List<Entry> buckets, double meanAspectError) {
    public record Entry(PixelSize resolution, int count) {}

    public BucketStats {
        buckets = List.copyOf(buckets);
    }

    public static BucketStats of(List<BucketAssignment> assignments) {
        TreeMap<PixelSize, Integer> counts = new TreeMap<>();
        double errorSum = 0;
        for (BucketAssignment a : assignments) {
            counts.merge(a.bucket(), 1, Integer::sum);
            errorSum += Math.abs(a.aspectError());
        }
        List<Entry> entries = new ArrayList<>();
        counts.forEach((size, n) -> entries.add(new Entry(size, n)));
        return new BucketStats(entries, assignments.isEmpty() ? 0 : errorSum / assignments.size());
    }

    /** One line per bucket ("bucket 0: 512x512, 12 images") and the mean aspect error. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < buckets.size(); i++) {
            Entry e = buckets.get(i);
            out.add("bucket " + i + ": " + e.resolution() + ", " + e.count() + (e.count() == 1 ? " image" : " images"));
        }
        out.add(String.format(java.util.Locale.ROOT, "mean aspect ratio error: %.4f", meanAspectError));
        return out;
    }

    /** {@code {"buckets": {"0": {"resolution": [w, h], "count": n}, ...}, "mean_img_ar_error": e}}. */
    public String toJson() {
        ObjectNode numbered = Json.object();
        for (int i = 0; i < buckets.size(); i++) {
            Entry e = buckets.get(i);
            numbered.set(Integer.toString(i), Json.object("resolution", Json.array(e.resolution().width(), e.resolution().height()),
                    "count", e.count()));
        }
        return Json.write(Json.object("buckets", numbered, "mean_img_ar_error", meanAspectError));
    }
}
