package org.lorascripts.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.lorascripts.io.Json;
import java.util.stream.Stream;

/**
 * Counts what a training folder holds without decoding it: images and their captions for
 * image LoRA, examples in .txt/.jsonl files for text LoRA. Used by {@code train --dry-run} and
 * before training to fail early with a clear message.
 */
public final class DatasetScan {
    private static final int MAX_LISTED = 10;

    private DatasetScan() {}

    /**
     * Lists {@code dir}'s images and where their captions come from, as training will find them
     * ({@link ImageFolder}: metadataPath, else {@code dir/metadata.csv} when present, then a caption file
     * beside each image, {@code cat.png} -> {@code cat.txt} for extension ".txt"). Nothing is decoded:
     * the dry run stays fast; {@link ImageCaptionDataset#open} finds the unreadable images.
     */
    public static ImageDatasetStats images(Path dir, Path metadataPath, String captionExtension) {
        return images(dir, metadataPath, captionExtension, List.of());
    }

    /**
     * The same for the train subsets of kohya's dataset config ({@code subsets}, each with its own image_dir,
     * caption extension and caption file), or for {@code dir} when there are none.
     */
    public static ImageDatasetStats images(Path dir, Path metadataPath, String captionExtension, List<KohyaSubset> subsets) {
        Optional<List<KohyaSubset>> kohya = subsets.isEmpty() ? KohyaLayout.detect(dir, false, w -> { })
                : Optional.of(subsets.stream().filter(s -> !s.reg()).toList());
        List<ImageFolder> folders = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        if (kohya.isPresent()) {
            for (KohyaSubset s : kohya.get()) {
                if (!Files.isDirectory(s.dir()) || ImageFiles.list(s.dir()).isEmpty()) continue;
                folders.add(ImageFolder.open(s.dir(), s.settings().metadataFile(),
                        s.settings().captionExtension().orElse(captionExtension), s.classTokens()));
                prefixes.add(s.folder() + "/");
            }
        } else {
            folders.add(ImageFolder.open(dir, Optional.ofNullable(metadataPath), captionExtension));
            prefixes.add("");
        }
        int fromCsv = 0;
        int fromFiles = 0;
        int fromClass = 0;
        List<String> names = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        List<String> orphans = new ArrayList<>();
        Optional<Path> csv = Optional.empty();
        for (int f = 0; f < folders.size(); f++) {
            ImageFolder folder = folders.get(f);
            String prefix = prefixes.get(f);
            if (csv.isEmpty()) csv = folder.metadataFile();
            for (String o : folder.orphanRows()) orphans.add(prefix + o);
            for (ImageFolder.Image image : folder.images()) {
                names.add(prefix + image.name());
                switch (image.source()) {
                    case METADATA -> fromCsv++;
                    case CAPTION_FILE -> fromFiles++;
                    case CLASS_TOKENS -> fromClass++;
                    case NONE -> missing.add(prefix + image.name());
                }
            }
        }
        return new ImageDatasetStats(dir, List.copyOf(names), csv, fromCsv, fromFiles, List.copyOf(missing),
                List.copyOf(orphans), fromClass);
    }

    /**
     * Counts text examples in a file or a folder (recursively). {@code format}: "auto" reads
     * .txt as one example per line and .jsonl as one JSON object per line; "text" and "jsonl"
     * read only that kind (a single file given directly is read in that format whatever its name).
     */
    public static TextDatasetStats text(Path source, String format) {
        if (!Files.exists(source)) throw notFound(source);
        List<Path> files;
        if (Files.isDirectory(source)) {
            files = walk(source).stream().filter(f -> accepts(format, extension(f))).toList();
            if (files.isEmpty()) {
                throw new DatasetException("train_data_dir " + source + " has no " + describe(format) + " files");
            }
        } else {
            files = List.of(source);
        }
        int text = 0, jsonl = 0;
        List<String> malformed = new ArrayList<>();
        for (Path f : files) {
            boolean asJson = format.equals("jsonl") || (format.equals("auto") && (extension(f).equals("jsonl") || extension(f).equals("json")));
            if (asJson && isJsonArrayFile(f)) {
                // a .json array of examples: each element is one
                JsonNode v;
                try {
                    v = Json.parse(readText(f));
                } catch (Json.Malformed e) {
                    throw new DatasetException(f + ": not valid JSON (" + e.getMessage() + ")");
                }
                for (int i = 0; i < v.size(); i++) {
                    jsonl++;
                    if (!v.get(i).isObject() && malformed.size() < MAX_LISTED) malformed.add(f + "[" + i + "]");
                }
                continue;
            }
            String[] lines = readText(f).split("\r?\n", -1);
            for (int i = 0; i < lines.length; i++) {
                String l = lines[i].strip();
                if (l.isEmpty()) continue;
                if (!asJson) { text++; continue; }
                jsonl++;
                if (!(l.startsWith("{") && l.endsWith("}")) && malformed.size() < MAX_LISTED) {
                    malformed.add(f + ":" + (i + 1));
                }
            }
        }
        if (text + jsonl == 0) throw new DatasetException("train_data_dir " + source + " has no examples (all lines are empty)");
        return new TextDatasetStats(source, files, text + jsonl, text, jsonl, List.copyOf(malformed));
    }

    private static boolean accepts(String format, String ext) {
        return switch (format) {
            case "text" -> ext.equals("txt");
            case "jsonl" -> ext.equals("jsonl");
            default -> ext.equals("txt") || ext.equals("jsonl") || ext.equals("json");
        };
    }

    /** A .json file holds one JSON array of examples (a .jsonl file one object per line). */
    public static boolean isJsonArrayFile(Path f) { return extension(f).equals("json"); }

    private static String describe(String format) {
        return switch (format) {
            case "text" -> ".txt";
            case "jsonl" -> ".jsonl";
            default -> ".txt, .jsonl or .json";
        };
    }

    private static DatasetException notFound(Path p) {
        return new DatasetException("train_data_dir " + p + " does not exist; put the training data there or fix"
                + " the path (relative paths are relative to the config file)");
    }

    private static List<Path> walk(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> !isHidden(dir.relativize(p)))
                    .sorted()
                    .toList();
        } catch (IOException | UncheckedIOException e) {
            throw new DatasetException("cannot list " + dir + " (" + e.getMessage() + ")");
        }
    }

    private static boolean isHidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    /** A UTF-8 text file, or a one-line DatasetException naming it. */
    static String readText(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new DatasetException(f + ": not UTF-8 text; save it as UTF-8");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + f + " (" + e.getMessage() + ")");
        }
    }

    /** The lower-case extension without the dot ("" when none). */
    static String extension(Path f) {
        String n = f.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
