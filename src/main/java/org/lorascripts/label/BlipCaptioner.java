package org.lorascripts.label;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.models.blip.BlipForConditionalGeneration;
import org.lorascripts.models.blip.BlipTokenizer;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.io.image.RgbaImage;

/**
 * Captions images with a BLIP captioner (an HF {@code BlipForConditionalGeneration} folder such as
 * Salesforce/blip-image-captioning-large): one sentence per image, returned as a single "tag" so the
 * Labeler puts the trigger word before it. An optional prompt ("a picture of") conditions the decoder as
 * in HF's conditional captioning; it is left out of the caption, which holds only the continuation.
 */
public final class BlipCaptioner implements ImageTagger {
    /**
     * @param maxLength as HF's max_length: counts the decoder's start token and the prompt's tokens too
     * @param prompt    text the caption continues, or null
     * @param beams     1 for greedy decoding, more for beam search (length penalty 1, as HF's defaults)
     */
    public record Options(int maxLength, String prompt, int beams) {
        public Options {
            if (maxLength < 2) throw new LabelException("--max-length must be at least 2, got " + maxLength);
            if (beams < 1) throw new LabelException("--beams must be at least 1, got " + beams);
            if (prompt != null && prompt.isBlank()) prompt = null;
        }

        public static Options defaults() { return new Options(30, null, 1); }
    }

    private final BlipForConditionalGeneration model;
    private final BlipTokenizer tokenizer;
    private final Options options;
    private final long[] prefix;

    private BlipCaptioner(BlipForConditionalGeneration model, BlipTokenizer tokenizer, Options options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.prefix = tokenizer.encode(options.prompt());
        if (prefix.length + 1 >= options.maxLength()) {
            throw new LabelException("--prompt '" + options.prompt() + "' takes " + (prefix.length + 1) + " of the "
                    + options.maxLength() + " tokens of --max-length: raise --max-length");
        }
    }

    /** Opens the folder on the GPU when one is available, else on the CPU (fp32 either way). */
    public static BlipCaptioner open(Path folder, Options options) {
        return open(folder, options, Cuda.isAvailable() ? Device.cuda(0) : Device.CPU);
    }

    public static BlipCaptioner open(Path folder, Options options, Device device) {
        if (!Files.isDirectory(folder) || !Files.isRegularFile(folder.resolve("config.json"))) {
            throw new LabelException("BLIP folder " + folder + " has no config.json: pass --model with an HF"
                    + " BlipForConditionalGeneration folder (config.json, model.safetensors, tokenizer.json), e.g. a download"
                    + " of Salesforce/blip-image-captioning-large");
        }
        BlipForConditionalGeneration model;
        try {
            model = BlipForConditionalGeneration.load(folder, device, DType.F32);
        } catch (IOException | RuntimeException e) {
            throw new LabelException("cannot load the BLIP model in " + folder + ": " + e.getMessage());
        }
        try {
            return new BlipCaptioner(model, BlipTokenizer.load(folder, model.config().text()), options);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e instanceof LabelException le ? le : new LabelException("cannot load the BLIP tokenizer in " + folder + ": " + e.getMessage());
        }
    }

    /** One caption per image (empty when the model ends at once). */
    public List<String> captions(List<RgbaImage> images) {
        if (images.isEmpty()) return List.of();
        int size = model.config().vision().imageSize();
        float[] batch = new float[images.size() * 3 * size * size];
        for (int i = 0; i < images.size(); i++) {
            System.arraycopy(BlipPreprocessor.toPixels(images.get(i), size), 0, batch, i * 3 * size * size, 3 * size * size);
        }
        long[][] ids;
        try (Scope s = Scope.open()) {
            Tensor pixels = Torch.of(batch, images.size(), 3, size, size);                 // (B, 3, S, S)
            ids = options.beams() > 1
                    ? model.generateBeam(pixels, prefix, options.maxLength(), options.beams(), 1.0)
                    : model.generateGreedy(pixels, prefix, options.maxLength());
        }
        List<String> out = new ArrayList<>();
        for (long[] row : ids) out.add(tokenizer.decodeCaption(row, prefix.length + 1));
        return out;
    }

    @Override
    public List<List<String>> tag(List<RgbaImage> images) {
        List<List<String>> out = new ArrayList<>();
        for (String c : captions(images)) out.add(c.isEmpty() ? List.of() : List.of(c));
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
