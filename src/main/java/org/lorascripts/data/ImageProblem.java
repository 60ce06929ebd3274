package org.lorascripts.data;

/**
 * An image that training leaves out, or trains only in part, found when the dataset is opened. Training
 * warns about them; the dry run lists them by name, so no image is dropped or cut without a word.
 *
 * @param name   path relative to train_data_dir with '/' separators
 * @param detail one line: the decoder's reason (which names the file), or the size and what its bucket does to it
 */
public record ImageProblem(String name, Kind kind, String detail) {
    public enum Kind {
        /** Cannot be decoded (corrupt, truncated, not an image): skipped. */
        UNREADABLE,
        /** Too small for its bucket ({@link BucketPlan.Verdict#TOO_SMALL}): skipped. */
        TOO_SMALL,
        /** Trains, but its bucket's crop cuts away much of it ({@link BucketPlan.Verdict#CROPPED}). */
        CROPPED
    }

    /** Whether training leaves the image out. */
    public boolean skipped() {
        return kind != Kind.CROPPED;
    }
}
