package org.lorascripts.label;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.image.ImageDecoder;
import org.lorascripts.data.ImageFiles;
import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.train.progress.CountProgress;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.CaptionStore;

/**
 * Captions every image of a folder that has no caption yet (or every image with {@code overwrite}):
 * decodes it, asks the tagger for tags, prepends the trigger word and stores the caption as a
 * metadata.csv row or a .txt file. Unreadable images are reported and counted, never captioned, since
 * the trainer could not load them either.
 */
public final class Labeler {
    /** Rewrites of metadata.csv happen this often, so an interrupted run keeps most of its work. */
    private static final int FLUSH_EVERY = 256;

    /** What to label and where to write. {@code csvFile} is only used for {@link CaptionFormat#CSV}. */
    public record Options(Path input, CaptionFormat format, Path csvFile, String trigger, boolean overwrite, int batchSize) {
        public Options {
            if (batchSize < 1) throw new LabelException("--batch-size must be at least 1, got " + batchSize);
            if (trigger != null && trigger.isBlank()) trigger = null;
            if (trigger != null) trigger = trigger.strip();
        }
    }

    /** Counts for the final line. */
    public record Summary(int labeled, int skipped, int unreadable) {
        public String line() {
            return "labeled " + labeled + ", skipped " + skipped + " (already captioned), unreadable " + unreadable;
        }
    }

    /**
     * Told before each batch (the first image it labels now) and once at the end ({@code file} empty):
     * images done of those to label, and how many could not be read so far.
     */
    public interface Listener {
        void update(int done, int total, String file, int unreadable);
    }

    private final ImageTagger tagger;
    private final PrintStream log;
    private Listener listener = (done, total, file, unreadable) -> {};

    /** {@code log} receives progress lines and per-file warnings. */
    public Labeler(ImageTagger tagger, PrintStream log) {
        this.tagger = tagger;
        this.log = log;
    }

    /** Where batch-by-batch progress goes besides the log's progress lines (the web app's progress file). */
    public Labeler onProgress(Listener l) {
        this.listener = l;
        return this;
    }

    public Summary run(Options options) {
        Path input = options.input();
        ImageFiles.requireFolder(input);
        List<String> images = ImageFiles.list(input);
        CaptionStore store = options.format() == CaptionFormat.CSV
                ? CaptionStore.openCsv(input, options.csvFile())
                : CaptionStore.openTxt(input);
        List<String> todo = new ArrayList<>();
        for (String image : images) {
            if (options.overwrite() || !store.has(image)) todo.add(image);
        }
        int skipped = images.size() - todo.size();
        int batchSize = Math.min(options.batchSize(), tagger.maxBatchSize());
        CountProgress progress = new CountProgress("label", todo.size(), line -> {
            log.println(line);
            log.flush();
        }, System::nanoTime, 0);
        Map<String, String> pending = new LinkedHashMap<>();
        int labeled = 0;
        int unreadable = 0;
        // Captions made before a failure (a model error mid-run) are still written.
        try {
            for (int from = 0; from < todo.size(); from += batchSize) {
                listener.update(from, todo.size(), todo.get(from), unreadable);
                List<String> names = new ArrayList<>();
                List<RgbaImage> pixels = new ArrayList<>();
                for (String name : todo.subList(from, Math.min(todo.size(), from + batchSize))) {
                    try {
                        pixels.add(ImageDecoder.decode(input.resolve(name)));
                        names.add(name);
                    } catch (ImageDecoder.UnreadableImageException e) {
                        log.println("warning: skipped " + e.getMessage());
                        unreadable++;
                    }
                }
                List<List<String>> tags = tagger.tag(pixels);
                for (int i = 0; i < names.size(); i++) {
                    pending.put(names.get(i), caption(options.trigger(), tags.get(i)));
                }
                labeled += names.size();
                if (pending.size() >= FLUSH_EVERY) {
                    store.putAll(pending);
                    pending.clear();
                }
                progress.update(Math.min(todo.size(), from + batchSize));
            }
        } finally {
            store.putAll(pending);
        }
        listener.update(todo.size(), todo.size(), "", unreadable);
        return new Summary(labeled, skipped, unreadable);
    }

    /** The trigger word first, then the tagger's tags (without a second copy of the trigger). */
    static String caption(String trigger, List<String> tags) {
        List<String> out = new ArrayList<>();
        if (trigger != null) out.add(trigger);
        for (String tag : tags) {
            if (!tag.equals(trigger)) out.add(tag);
        }
        return CaptionTags.join(out);
    }
}
