package org.lorascripts.data;

import org.lorascripts.io.image.ImageDecoder;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Finds the images of a dataset folder (recursively, hidden entries skipped) by file extension. */
public final class ImageFiles {
    /** The image files trained on and labelled: what {@link ImageDecoder} reads. */
    public static final Set<String> EXTENSIONS = ImageDecoder.EXTENSIONS;

    private ImageFiles() {}

    public static boolean isImage(Path file) {
        return EXTENSIONS.contains(extension(file.getFileName().toString()));
    }

    public static String extension(String name) {
        return ImageDecoder.extension(name);
    }

    /** Image paths relative to {@code folder} with '/' separators, sorted, as metadata.csv spells them. */
    public static List<String> list(Path folder) {
        requireFolder(folder);
        List<String> names = new ArrayList<>();
        try {
            Files.walkFileTree(folder, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    boolean hidden = !dir.equals(folder) && dir.getFileName().toString().startsWith(".");
                    return hidden ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !file.getFileName().toString().startsWith(".") && isImage(file)) {
                        names.add(relativeName(folder, file));
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new DatasetException("cannot list " + folder + ": " + e.getMessage());
        }
        names.sort(null);
        return names;
    }

    public static String relativeName(Path folder, Path file) {
        return folder.relativize(file).toString().replace(folder.getFileSystem().getSeparator(), "/");
    }

    /**
     * A file name as a person or another tool wrote it in a caption csv, spelled as {@link #list} spells
     * it: surrounding spaces dropped, '\' (Windows) read as '/', "." and empty segments dropped, "a/../b"
     * resolved. So "./a.png", "sub\b.png" and "sub//b.png" name the images "a.png" and "sub/b.png".
     */
    public static String normalizeName(String name) {
        String n = name.strip().replace('\\', '/');
        List<String> kept = new ArrayList<>();
        for (String part : n.split("/")) {
            if (part.isEmpty() || part.equals(".")) continue;
            if (part.equals("..") && !kept.isEmpty() && !kept.getLast().equals("..")) {
                kept.removeLast();
                continue;
            }
            kept.add(part);
        }
        // An absolute name stays absolute, so it matches no image and is reported rather than guessed at.
        return (n.startsWith("/") ? "/" : "") + String.join("/", kept);
    }

    /** kohya's caption file: the image path with its extension replaced by ".txt". */
    public static Path captionFile(Path folder, String imageName) {
        return captionFile(folder, imageName, ".txt");
    }

    /** The caption file for kohya's {@code caption_extension} (".txt", ".caption"; the dot is optional). */
    public static Path captionFile(Path folder, String imageName, String extension) {
        Path image = folder.resolve(imageName);
        String file = image.getFileName().toString();
        int dot = file.lastIndexOf('.');
        String ext = extension.startsWith(".") ? extension : "." + extension;
        return image.resolveSibling((dot < 0 ? file : file.substring(0, dot)) + ext);
    }

    public static void requireFolder(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new DatasetException(Files.exists(folder)
                    ? folder + " is not a folder: pass the folder that holds the images"
                    : "input folder " + folder + " does not exist: check the --input path");
        }
    }
}
