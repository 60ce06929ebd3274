package org.lorascripts.gui;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.CaptionStore;
import org.lorascripts.data.ImageFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * The Dataset page's files: the images of a folder (as the trainer finds them, {@link ImageFiles}) with their
 * captions where the trainer reads them ({@link CaptionStore#detect}: the folder's metadata.csv, else its
 * metadata.jsonl, else a {@code NAME.txt} beside each image, kohya's layout), and caption edits written
 * atomically to the same place.
 * Paths are checked by {@link Roots} before they get here.
 */
final class Dataset {
    /** The most images listed at once, and the largest caption read or written. */
    static final int MAX_IMAGES = 5000;
    static final int MAX_CAPTION = 64 * 1024;

    private Dataset() {}

    static ObjectNode list(ObjectMapper json, Path folder) throws IOException {
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException("not a folder: " + folder);
        List<String> names = ImageFiles.list(folder);
        CaptionFormat format = CaptionStore.detect(folder);
        CaptionStore store = format == CaptionFormat.TXT ? null : CaptionStore.open(folder, format);
        ObjectNode o = json.createObjectNode();
        o.put("folder", folder.toString());
        o.put("format", format.cliName());
        o.put("captionFile", store == null ? null : store.location().toString());
        o.put("total", names.size());
        ArrayNode items = o.putArray("items");
        for (String name : names.subList(0, Math.min(names.size(), MAX_IMAGES))) {
            Path image = folder.resolve(name);
            ObjectNode item = items.addObject();
            item.put("name", name);
            item.put("path", image.toString());
            if (store != null) {
                item.put("hasCaption", store.has(name));
                item.put("caption", store.has(name) ? store.get(name).strip() : "");
                continue;
            }
            Path caption = captionOf(image);
            boolean has = Files.isRegularFile(caption);
            item.put("hasCaption", has);
            item.put("caption", has && Files.size(caption) <= MAX_CAPTION ? Files.readString(caption, StandardCharsets.UTF_8).strip() : "");
        }
        return o;
    }

    static Path captionOf(Path image) {
        String name = image.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return image.resolveSibling((dot < 0 ? name : name.substring(0, dot)) + ".txt");
    }

    /**
     * Writes {@code caption} for {@code image} where the captions of {@code folder} live: into its metadata.csv
     * or metadata.jsonl (the whole file rewritten atomically, other lines and fields kept), or, for a folder
     * with .txt captions (or none given), the image's .txt file.
     */
    static Path writeCaption(Path folder, Path image, String caption) throws IOException {
        if (folder == null || !Files.isDirectory(folder)) return writeCaption(image, caption);
        CaptionFormat format = CaptionStore.detect(folder);
        if (format == CaptionFormat.TXT) return writeCaption(image, caption);
        if (!Files.isRegularFile(image) || !ImageFiles.isImage(image)) throw new IllegalArgumentException("not an image: " + image);
        if (!image.startsWith(folder)) throw new IllegalArgumentException(image + " is not inside " + folder);
        if (caption.length() > MAX_CAPTION) throw new IllegalArgumentException("a caption may hold at most " + MAX_CAPTION + " characters");
        String name = ImageFiles.normalizeName(folder.relativize(image).toString());
        CaptionStore store = CaptionStore.open(folder, format);
        store.putAll(Map.of(name, caption.strip()));
        return store.location();
    }

    /** Writes {@code caption} to the caption file of {@code image} (temp file, then an atomic move). */
    static Path writeCaption(Path image, String caption) throws IOException {
        if (!Files.isRegularFile(image) || !ImageFiles.isImage(image)) throw new IllegalArgumentException("not an image: " + image);
        if (caption.length() > MAX_CAPTION) throw new IllegalArgumentException("a caption may hold at most " + MAX_CAPTION + " characters");
        Path target = captionOf(image);
        Path tmp = Files.createTempFile(image.getParent(), ".caption-", ".tmp");
        Files.writeString(tmp, caption.strip(), StandardCharsets.UTF_8);  // as the captions tools write them
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }
}
