package org.lorascripts.label;

import java.util.List;
import org.lorascripts.io.image.RgbaImage;

/** Something that proposes caption tags for images; the WD14 tagger is one, trigger-only labeling another. */
public interface ImageTagger extends AutoCloseable {
    /** One tag list per image, in the same order. */
    List<List<String>> tag(List<RgbaImage> images);

    /** Largest batch it accepts (a model with a fixed batch dimension of 1 says so here). */
    default int maxBatchSize() {
        return Integer.MAX_VALUE;
    }

    @Override
    default void close() {}

    /** Tags nothing: captions then hold only the trigger word. */
    static ImageTagger none() {
        return new ImageTagger() {
            @Override
            public List<List<String>> tag(List<RgbaImage> images) {
                return images.stream().map(i -> List.<String>of()).toList();
            }
        };
    }
}
