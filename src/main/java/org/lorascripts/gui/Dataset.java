package org.lorascripts.gui;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lorascripts.data.ImageFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The Dataset page's files: the images of a folder (as the trainer finds them, {@link ImageFiles}) with the
 * caption file beside each ({@code NAME.txt}, kohya's layout), and caption edits written atomically.
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
        ObjectNode o = json.createObjectNode();
        o.put("folder", folder.toString());
        o.put("total", names.size());
        ArrayNode items = o.putArray("items");
        for (String name : names.subList(0, Math.min(names.size(), MAX_IMAGES))) {
            Path image = folder.resolve(name);
            Path caption = captionOf(image);
            ObjectNode item = items.addObject();
            item.put("name", name);
            item.put("path", image.toString());
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
