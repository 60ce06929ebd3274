package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * The text encoders' states of fixed captions under frozen encoders, encoded once: in memory, and with
 * {@code cache_text_encoder_outputs_to_disk} also one file per caption in the data folder's {@code .lora-cache/}
 * (kohya's option of that name), reused by later runs. A file holds {@code context} (1, L, D) and, for SDXL,
 * {@code pooled} (1, P) in the pipeline's dtype, with a key naming the encoders' weights (path and size/time of
 * the file, or the built-in's sha256), family, dtype, token length, clip skip and the caption: a file whose key
 * differs, or that cannot be read, is encoded again and replaced, never trusted.
 */
final class TextStateCache {
    private TextStateCache() {}

    static final String KEY = "lora_scripts_cache_key";

    /** The states by caption, and how many were encoded now and read from disk. */
    record Result(Map<String, SdPipeline.Conditioning> states, int encoded, int reused) {}

    static Result build(SdPipeline pipeline, Collection<String> captions, int maxTokenLength, int clipSkip, Optional<Path> diskDir) throws IOException {
        String identity = diskDir.isPresent()
                ? pipeline.textEncoderIdentity() + "|" + pipeline.family() + "|" + pipeline.dtype().displayName() + "|" + maxTokenLength + "|" + clipSkip
                : null;
        if (diskDir.isPresent()) Files.createDirectories(diskDir.get());
        Map<String, SdPipeline.Conditioning> out = new HashMap<>();
        int encoded = 0, reused = 0;
        try (Autograd.GradMode g = Autograd.noGrad(); Scope s = Scope.open()) {
            for (String caption : captions) {
                if (out.containsKey(caption)) continue;
                String key = identity == null ? null : identity + "|" + caption;
                Path file = diskDir.map(d -> d.resolve("te-" + LatentCache.sha256(key).substring(0, 24) + ".safetensors")).orElse(null);
                Optional<SdPipeline.Conditioning> hit = file == null ? Optional.empty() : read(file, key, pipeline.device());
                if (hit.isPresent()) {
                    out.put(caption, hit.get());
                    reused++;
                    continue;
                }
                SdPipeline.Conditioning c = pipeline.encodeConditioning(caption, maxTokenLength, clipSkip);
                if (file != null) {
                    Map<String, Tensor> t = new LinkedHashMap<>();
                    t.put("context", c.context());
                    if (c.pooled() != null) t.put("pooled", c.pooled());
                    try {
                        TensorIO.save(file, t, Map.of(KEY, key));
                    } catch (IOException e) {
                        throw new IOException("cache_text_encoder_outputs_to_disk: cannot write " + file + " (" + e
                                + "); free disk space or set cache_text_encoder_outputs_to_disk: false", e);
                    }
                }
                out.put(caption, new SdPipeline.Conditioning(c.context().copy().keep(), c.pooled() == null ? null : c.pooled().copy().keep()));
                encoded++;
            }
        }
        return new Result(out, encoded, reused);
    }

    private static Optional<SdPipeline.Conditioning> read(Path file, String key, Device device) {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!key.equals(f.metadata().get(KEY)) || !f.contains("context")) return Optional.empty();
            Tensor context = TensorIO.read(f, "context", device, null).keep();
            Tensor pooled = f.contains("pooled") ? TensorIO.read(f, "pooled", device, null).keep() : null;
            return Optional.of(new SdPipeline.Conditioning(context, pooled));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
