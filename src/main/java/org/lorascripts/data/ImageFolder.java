package org.lorascripts.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The images of a train_data_dir and the caption each one trains with. This is the one listing
 * ({@link ImageFiles#list}: sorted, hidden files and folders skipped, the decoder's extensions) and the
 * one caption rule behind both the dry run's counts ({@link DatasetScan#images}, which decodes nothing)
 * and the training scan ({@link ImageCaptionScan}, which decodes), so the two cannot disagree.
 *
 * <p>The rule: the caption csv (metadata_path, else {@code metadata.csv} in the folder when present)
 * first; an image without a row, or with a blank text, falls back to its caption file
 * ({@code caption_extension} beside the image); else it has no caption. Captions are stripped.
 */
final class ImageFolder {
    /** Where an image's caption came from. */
    enum Source { METADATA, CAPTION_FILE, CLASS_TOKENS, NONE }

    /** One image: its name relative to the folder ('/' separators) and its caption ("" with NONE). */
    record Image(String name, String caption, Source source) {}

    private final Path dir;
    private final Optional<Path> metadataFile;
    private final List<Image> images;
    private final List<String> orphanRows;

    private ImageFolder(Path dir, Optional<Path> metadataFile, List<Image> images, List<String> orphanRows) {
        this.dir = dir;
        this.metadataFile = metadataFile;
        this.images = List.copyOf(images);
        this.orphanRows = List.copyOf(orphanRows);
    }

    /** Lists {@code dir} and looks up every caption; fails when the folder, its images or the csv are missing. */
    static ImageFolder open(Path dir, Optional<Path> metadataPath, String captionExtension) {
        return open(dir, metadataPath, captionExtension, "");
    }

    /**
     * The same for a kohya subset: an image with neither a csv row nor a caption file takes
     * {@code classTokens} (the folder name after "N_"), as kohya's DreamBoothDataset does.
     */
    static ImageFolder open(Path dir, Optional<Path> metadataPath, String captionExtension, String classTokens) {
        requireFolder(dir);
        List<String> names = ImageFiles.list(dir);
        if (names.isEmpty()) {
            throw new DatasetException("train_data_dir '" + dir + "' contains no images: supported extensions are "
                    + String.join(", ", ImageFiles.EXTENSIONS.stream().sorted().map(e -> "." + e).toList())
                    + " (sub-folders are searched too; hidden ones are skipped)");
        }
        Optional<Path> csv = metadataFile(dir, metadataPath);
        CaptionMetadata.Captions rows = csv.isPresent() ? CaptionMetadata.read(csv.get(), dir)
                : new CaptionMetadata.Captions(new java.util.LinkedHashMap<>(), false);
        List<Image> images = new ArrayList<>(names.size());
        Set<String> matched = new HashSet<>(names);
        for (String name : names) {
            Image image = caption(dir, name, rows.get(name), captionExtension);
            if (rows.stems()) {
                int dot = name.lastIndexOf('.');
                if (dot > name.lastIndexOf('/')) matched.add(name.substring(0, dot));
            }
            if (image.source() == Source.NONE && !classTokens.isBlank()) {
                image = new Image(name, classTokens.strip(), Source.CLASS_TOKENS);
            }
            images.add(image);
        }
        List<String> orphans = rows.rows().keySet().stream().filter(n -> !matched.contains(n)).sorted().toList();
        return new ImageFolder(dir, csv, images, orphans);
    }

    private static Image caption(Path dir, String name, String row, String captionExtension) {
        if (row != null && !row.isBlank()) return new Image(name, row.strip(), Source.METADATA);
        Path file = ImageFiles.captionFile(dir, name, captionExtension);
        if (Files.isRegularFile(file)) {
            String text = CaptionStore.readCaptionFile(file);
            if (!text.isBlank()) return new Image(name, text, Source.CAPTION_FILE);
        }
        return new Image(name, "", Source.NONE);
    }

    private static void requireFolder(Path dir) {
        if (!Files.exists(dir)) {
            throw new DatasetException("train_data_dir '" + dir + "' does not exist: put the training images there"
                    + " or fix the path (relative paths are relative to the config file)");
        }
        if (!Files.isDirectory(dir)) {
            throw new DatasetException("train_data_dir '" + dir + "' is a file: it must be a folder of images");
        }
    }

    /**
     * metadata_path when set (it must exist: a typo must not silently fall back to caption files), else
     * metadata.csv or metadata.jsonl in the folder (both there is an error: which one holds the captions?).
     */
    private static Optional<Path> metadataFile(Path dir, Optional<Path> metadataPath) {
        if (metadataPath.isPresent()) {
            Path csv = metadataPath.get();
            if (!Files.isRegularFile(csv)) {
                throw new DatasetException("metadata_path '" + csv + "' does not exist: fix the path or remove the key"
                        + " to use caption files beside the images");
            }
            return metadataPath;
        }
        Path csv = dir.resolve(MetadataCsv.FILE_NAME), jsonl = dir.resolve(CaptionMetadata.JSONL_NAME);
        boolean hasCsv = Files.isRegularFile(csv), hasJsonl = Files.isRegularFile(jsonl);
        if (hasCsv && hasJsonl) {
            throw new DatasetException(dir + " has both " + MetadataCsv.FILE_NAME + " and " + CaptionMetadata.JSONL_NAME
                    + ": keep the one that holds the captions");
        }
        return hasCsv ? Optional.of(csv) : hasJsonl ? Optional.of(jsonl) : Optional.empty();
    }

    Path dir() {
        return dir;
    }

    /** The csv the captions came from, if any. */
    Optional<Path> metadataFile() {
        return metadataFile;
    }

    /** Every image, sorted by name. */
    List<Image> images() {
        return images;
    }

    List<String> names() {
        return images.stream().map(Image::name).toList();
    }

    /** csv file names that match no image (typos, deleted images), sorted. */
    List<String> orphanRows() {
        return orphanRows;
    }
}
