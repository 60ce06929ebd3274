package org.lorascripts.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;

/**
 * The captions of one image folder, in either form: {@code metadata.csv} beside the images or one
 * {@code .txt} per image (kohya). Keys are image paths relative to the folder with '/' separators.
 * The trainer reads captions through this class too, so both forms mean the same thing everywhere.
 */
public final class CaptionStore {
    private final Path folder;
    private final CaptionFormat format;
    private final Path csvFile;
    private final LinkedHashMap<String, String> captions;
    private final String txtExtension;

    private CaptionStore(Path folder, CaptionFormat format, Path csvFile, LinkedHashMap<String, String> captions,
                         String txtExtension) {
        this.folder = folder;
        this.format = format;
        this.csvFile = csvFile;
        this.captions = captions;
        this.txtExtension = txtExtension;
    }

    /** metadata.csv when the folder has one, else metadata.jsonl, else .txt files. */
    public static CaptionFormat detect(Path folder) {
        if (Files.isRegularFile(folder.resolve(MetadataCsv.FILE_NAME))) return CaptionFormat.CSV;
        return Files.isRegularFile(folder.resolve(CaptionMetadata.JSONL_NAME)) ? CaptionFormat.JSONL : CaptionFormat.TXT;
    }

    public static CaptionStore open(Path folder) {
        ImageFiles.requireFolder(folder);
        return open(folder, detect(folder));
    }

    public static CaptionStore open(Path folder, CaptionFormat format) {
        return switch (format) {
            case CSV -> openCsv(folder, folder.resolve(MetadataCsv.FILE_NAME));
            case JSONL -> openJsonl(folder, folder.resolve(CaptionMetadata.JSONL_NAME));
            case TXT -> openTxt(folder);
        };
    }

    /** A metadata.jsonl ({"file_name": ..., "text": ...} a line); edits keep each line's other fields. */
    public static CaptionStore openJsonl(Path folder, Path jsonlFile) {
        ImageFiles.requireFolder(folder);
        LinkedHashMap<String, String> rows = Files.exists(jsonlFile) ? CaptionMetadata.readJsonl(jsonlFile, folder) : new LinkedHashMap<>();
        return new CaptionStore(folder, CaptionFormat.JSONL, jsonlFile, rows, ".txt");
    }

    /** A metadata.csv that may live outside the image folder (file_name stays relative to the images). */
    public static CaptionStore openCsv(Path folder, Path csvFile) {
        ImageFiles.requireFolder(folder);
        LinkedHashMap<String, String> rows = Files.exists(csvFile) ? MetadataCsv.read(csvFile) : new LinkedHashMap<>();
        return new CaptionStore(folder, CaptionFormat.CSV, csvFile, rows, ".txt");
    }

    public static CaptionStore openTxt(Path folder) {
        return openTxt(folder, ".txt");
    }

    /**
     * Per-image caption files with kohya's {@code caption_extension} (e.g. ".caption"), which
     * {@link #putAll} then writes too.
     */
    public static CaptionStore openTxt(Path folder, String extension) {
        ImageFiles.requireFolder(folder);
        LinkedHashMap<String, String> captions = new LinkedHashMap<>();
        for (String image : ImageFiles.list(folder)) {
            Path txt = ImageFiles.captionFile(folder, image, extension);
            if (Files.isRegularFile(txt)) captions.put(image, readCaptionFile(txt));
        }
        return new CaptionStore(folder, CaptionFormat.TXT, null, captions, extension);
    }

    /** One caption file (UTF-8, BOM and surrounding whitespace dropped), as training and the tools read it. */
    static String readCaptionFile(Path txt) {
        try {
            String text = Files.readString(txt, StandardCharsets.UTF_8);
            if (text.startsWith("\uFEFF")) text = text.substring(1);
            // Editors add a final newline; it is not part of the caption.
            return text.strip();
        } catch (java.nio.charset.MalformedInputException e) {
            throw new DatasetException(txt + " is not UTF-8 text: re-save it as UTF-8");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + txt + ": " + e.getMessage());
        }
    }

    public Path folder() {
        return folder;
    }

    public CaptionFormat format() {
        return format;
    }

    /** Where the captions are written: the csv / jsonl file, or the folder for .txt captions. */
    public Path location() {
        return format == CaptionFormat.TXT ? folder : csvFile;
    }

    /** image → caption, in file order (csv) or sorted path order (txt). Read-only view. */
    public Map<String, String> captions() {
        return java.util.Collections.unmodifiableMap(captions);
    }

    public boolean has(String image) {
        return captions.containsKey(image);
    }

    public String get(String image) {
        return captions.get(image);
    }

    /**
     * Sets the given captions (new images are appended, existing ones replaced in place) and writes
     * them: the whole csv atomically, or just the touched .txt files, each atomically.
     */
    public void putAll(Map<String, String> updates) {
        if (updates.isEmpty()) return;
        captions.putAll(updates);
        try {
            if (format == CaptionFormat.CSV) {
                MetadataCsv.write(csvFile, captions);
            } else if (format == CaptionFormat.JSONL) {
                CaptionMetadata.writeJsonl(csvFile, folder, captions);
            } else {
                for (Map.Entry<String, String> e : updates.entrySet()) {
                    AtomicFileWriter.write(ImageFiles.captionFile(folder, e.getKey(), txtExtension),
                            e.getValue().getBytes(StandardCharsets.UTF_8));
                }
            }
        } catch (IOException e) {
            throw new DatasetException("cannot write captions to " + location() + ": " + e.getMessage());
        }
    }
}
