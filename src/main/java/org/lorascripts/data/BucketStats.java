package org.lorascripts.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.TreeMap;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;

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
        LinkedHashMap<String, JsonValue> numbered = new LinkedHashMap<>();
        for (int i = 0; i < buckets.size(); i++) {
            Entry e = buckets.get(i);
            LinkedHashMap<String, JsonValue> b = new LinkedHashMap<>();
            b.put("resolution", new JsonValue.Arr(List.of(
                    new JsonValue.Int(e.resolution().width()), new JsonValue.Int(e.resolution().height()))));
            b.put("count", new JsonValue.Int(e.count()));
            numbered.put(Integer.toString(i), new JsonValue.Obj(b));
        }
        LinkedHashMap<String, JsonValue> root = new LinkedHashMap<>();
        root.put("buckets", new JsonValue.Obj(numbered));
        root.put("mean_img_ar_error", new JsonValue.Dec(meanAspectError));
        return JsonWriter.write(new JsonValue.Obj(root));
    }
}
