package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.lorascripts.data.ImageBatch;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.train.progress.CountProgress;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdPipeline;

/**
 * VAE latents of every image of a dataset, encoded once (fixed crop, no flip: the dataset refuses
 * caching otherwise) and kept on the training device, as kohya's {@code cache_latents}. With a disk
 * folder, each image's latents are also a safetensors file there ({@code <name>-<hash>.safetensors},
 * written atomically) whose metadata holds the dataset's cache key and the VAE's identity; a later
 * run reuses a file whose key matches and re-encodes (overwriting it) when the image, its crop or
 * the VAE changed.
 *
 * <p>The latents are the distribution's mean (times the scaling factor), not a sample: a sample
 * would draw from the training generator only when the cache misses, so a run would differ
 * depending on what was on disk.
 */
public final class LatentCache implements AutoCloseable {
    static final String TENSOR = "latents";
    static final String KEY = "lora_scripts_cache_key";
    /** At most this many images, and at most {@link #ENCODE_PIXELS} pixels, per VAE encode (kohya's vae_batch_size is 1). */
    private static final int ENCODE_BATCH = 8;
    /** Two 512x512 images: the fp32 VAE's first-level activations are 128 channels at full resolution. */
    private static final long ENCODE_PIXELS = 2L * 512 * 512;

    private final Tensor[] latents;   // per example (4, h, w) f32 on the device
    private final int encoded;
    private final int reused;

    private LatentCache(Tensor[] latents, int encoded, int reused) {
        this.latents = latents;
        this.encoded = encoded;
        this.reused = reused;
    }

    /**
     * Encodes (or loads) the latents of every example of {@code ds}. {@code progress} gets a line about every 5 % of
     * the images to encode ({@code caching latents 120/500 (24.0%) 12.30 it/s eta 31s}) once the caching has run for
     * 3 seconds: a dozen images print none.
     */
    public static LatentCache build(ImageCaptionDataset ds, SdPipeline pipeline, Optional<Path> diskDir,
                                    java.util.function.Consumer<String> progress) throws IOException {
        ds.requireCacheable();
        if (diskDir.isPresent()) {
            try {
                Files.createDirectories(diskDir.get());
            } catch (IOException e) {
                throw new IOException("cache_latents_to_disk: cannot create " + diskDir.get() + " (" + e + "); make the folder writable or set cache_latents_to_disk: false", e);
            }
        }
        int n = ds.size();
        Tensor[] out = new Tensor[n];
        // the file fingerprint alone would let one single-file checkpoint's latents pass for another family's
        // (SD and SDXL VAEs share a layout but not the scaling factor), so the family and factor are part of the key
        String vaeId = pipeline.vaeIdentity() + "|family=" + pipeline.family() + "|scale=" + pipeline.checkpoint().vaeConfig().scalingFactor();
        String[] keys = new String[n];
        int reused = 0;
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            keys[i] = ds.cacheKey(i) + "|vae=" + vaeId;
            Optional<Tensor> hit = diskDir.isPresent() ? readIfCurrent(fileOf(diskDir.get(), ds, i), keys[i], pipeline.device()) : Optional.empty();
            if (hit.isPresent()) {
                out[i] = hit.get();
                reused++;
            } else {
                missing.add(i);
            }
        }
        // one encode per group of same-bucket images (a batch must not mix sizes)
        Map<Integer, List<Integer>> byBucket = new LinkedHashMap<>();
        for (int i : missing) byBucket.computeIfAbsent(ds.bucketIndex(i), k -> new ArrayList<>()).add(i);
        List<int[]> encodes = new ArrayList<>();
        for (List<Integer> group : byBucket.values()) {
            var bucket = ds.placement(group.getFirst(), 0).bucket();
            int perEncode = (int) Math.max(1, Math.min(ENCODE_BATCH, ENCODE_PIXELS / ((long) bucket.width() * bucket.height())));
            for (int start = 0; start < group.size(); start += perEncode) {
                encodes.add(group.subList(start, Math.min(group.size(), start + perEncode)).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        CountProgress shown = new CountProgress("caching latents", missing.size(), progress, System::nanoTime, 3.0);
        int done = 0;
        for (int b = 0; b < encodes.size(); b++) {
            int[] idx = encodes.get(b);
            if (b + 1 < encodes.size()) ds.prefetch(encodes.get(b + 1), 0);   // read while this batch encodes
            try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad(); ImageBatch batch = ds.load(idx, 0)) {
                Tensor z = encode(pipeline, batch.pixels());                       // (B, 4, h, w)
                for (int k = 0; k < idx.length; k++) {
                    Tensor one = z.select(0, k).contiguous();
                    if (diskDir.isPresent()) {
                        Path file = fileOf(diskDir.get(), ds, idx[k]);
                        try {
                            TensorIO.save(file, Map.of(TENSOR, one.to(Device.CPU)), Map.of(KEY, keys[idx[k]]));
                        } catch (IOException e) {
                            throw new IOException("cache_latents_to_disk: cannot write " + file + " (" + e + "); free disk space or set cache_latents_to_disk: false", e);
                        }
                    }
                    out[idx[k]] = one.copy().keep();
                }
            }
            shown.update(done += idx.length);
        }
        return new LatentCache(out, missing.size(), reused);
    }

    /**
     * UNet-space latents of CPU pixels (B, 3, H, W) in [-1, 1]: the VAE mean times its scaling factor (SDXL's
     * 0.13025 comes with its VAE config), f32 on the pipeline's device. The VAE computes in the checkpoint's
     * VAE dtype (fp32) because SD and SDXL VAEs overflow in fp16.
     */
    public static Tensor encode(SdPipeline pipeline, Tensor pixels) {
        Tensor x = pixels.to(pipeline.checkpoint().vaeComputeDtype(), pipeline.device());
        return pipeline.vae().encodeToLatents(x, null).to(DType.F32);
    }

    /** The cache file of example {@code i}: readable name plus a hash of the full relative path (names may repeat across folders). */
    static Path fileOf(Path dir, ImageCaptionDataset ds, int i) {
        String name = ds.example(i).name();
        String base = name.substring(name.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9._-]+", "_");
        return dir.resolve(base + "-" + sha256(name).substring(0, 12) + ".safetensors");
    }

    private static Optional<Tensor> readIfCurrent(Path file, String key, Device device) throws IOException {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!key.equals(f.metadata().get(KEY)) || !f.contains(TENSOR)) return Optional.empty();
            return Optional.of(TensorIO.read(f, TENSOR, device, DType.F32).keep());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();   // a damaged cache file is re-encoded and replaced, never trusted
        }
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /** Latents (B, 4, h, w) of the examples, which must share a bucket. */
    public Tensor batch(int[] indices) {
        List<Tensor> rows = new ArrayList<>(indices.length);
        for (int i : indices) rows.add(latents[i]);
        return Torch.stack(rows, 0);
    }

    public int size() { return latents.length; }

    /** Images encoded by the VAE when the cache was built (the rest came from disk). */
    public int encoded() { return encoded; }

    public int reused() { return reused; }

    @Override public void close() {
        for (Tensor t : latents) if (t != null) t.close();
    }
}
