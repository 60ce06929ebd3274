package org.lorascripts.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lorascripts.label.BlipCaptioner;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.DatasetException;
import org.lorascripts.data.ImageFiles;
import org.lorascripts.label.ImageTagger;
import org.lorascripts.data.DatasetException;
import org.lorascripts.label.LabelException;
import org.lorascripts.label.Labeler;
import org.lorascripts.data.MetadataCsv;
import org.lorascripts.label.TagSelection;
import org.lorascripts.label.Wd14Tagger;
import org.lorascripts.label.SelectedTags;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.hub.HubException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora label}: captions a folder of images with a WD14 tagger, a BLIP captioner
 * ({@code --backend blip}) and/or a trigger word. Without {@code --model} the standard tagger
 * ({@value HubModels#DEFAULT_TAGGER}) or captioner ({@value HubModels#DEFAULT_CAPTIONER}) comes from
 * the Hugging Face Hub on first use; {@code --model none} writes the trigger word alone.
 */
@Command(name = "label", mixinStandardHelpOptions = true,
        description = {"Caption the images of a folder with a WD14 tagger (ONNX) or BLIP captioner, and/or a trigger word.",
                "Writes metadata.csv (file_name,text) or one .txt per image; existing captions are kept unless --overwrite."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora label --input data/my_style --trigger mystyle \\",
            "      --model models/wd-eva02-large-tagger-v3 --threshold 0.35",
            "  ./lora label --input data/my_style --backend blip \\",
            "      --model models/blip-image-captioning-large --format txt",
            "  ./lora label --input data/my_style --trigger mystyle -o data/captions.csv",
            "      (the standard tagger " + HubModels.DEFAULT_TAGGER + ", downloaded on first use)",
            "  ./lora label --input data/my_style --model none --trigger mystyle",
            "      (every caption is just the trigger word; nothing is downloaded)",
            "",
            "--model is a folder on disk or ORG/NAME on the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN,",
            "HF_HUB_OFFLINE=1 as for Python tools; ./lora download fetches ahead)."})
public final class LabelCommand implements Callable<Integer> {
    static final String NO_MODEL_MESSAGE = "--model none captions every image with just the trigger word: add --trigger WORD,"
            + " or leave out --model to use the standard tagger " + HubModels.DEFAULT_TAGGER;
    static final String NONE = "none";

    @Option(names = "--input", required = true, paramLabel = "DIR", description = "Folder of images (searched recursively).")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "metadata.csv to write (default: DIR/metadata.csv).")
    Path output;

    @Option(names = "--format", paramLabel = "csv|txt", description = "csv (metadata.csv, default) or txt (one .txt beside each image, kohya).")
    String format;

    static final String NO_BLIP_MODEL_MESSAGE = "--backend blip needs a captioner: leave out --model for "
            + HubModels.DEFAULT_CAPTIONER + ", or pass --model DIR with an HF BlipForConditionalGeneration folder"
            + " (config.json, model.safetensors, tokenizer.json)";

    @Option(names = "--model", paramLabel = "PATH|ORG/NAME|none",
            description = {"wd14: tagger folder with model.onnx and selected_tags.csv (default: " + HubModels.DEFAULT_TAGGER + ");",
                    "blip: HF BLIP captioning folder (default: " + HubModels.DEFAULT_CAPTIONER + ");",
                    "ORG/NAME is fetched from the Hugging Face Hub; none: the trigger word alone."})
    String model;

    @Option(names = "--backend", defaultValue = "wd14", paramLabel = "wd14|blip",
            description = "wd14 (comma-separated tags, default) or blip (one sentence per image).")
    String backend;

    @Option(names = "--max-length", defaultValue = "30", description = "blip: most tokens per caption, start token and prompt included (default ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "blip: text the caption continues, e.g. \"a picture of\" (left out of the caption).")
    String prompt;

    @Option(names = "--beams", defaultValue = "1", description = "blip: beam search width; 1 = greedy (default ${DEFAULT-VALUE}).")
    int beams;

    @Option(names = "--trigger", paramLabel = "WORD", description = "Trigger word, put first in every caption.")
    String trigger;

    @Option(names = "--threshold", defaultValue = "0.35", description = "Minimum probability of general tags (default ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--character-threshold", defaultValue = "0.85", description = "Minimum probability of character tags (default ${DEFAULT-VALUE}).")
    double characterThreshold;

    @Option(names = "--overwrite", description = "Replace existing captions.")
    boolean overwrite;

    @Option(names = "--include-rating", description = "Put the most probable rating tag (general, sensitive, ...) first.")
    boolean includeRating;

    @Option(names = "--batch-size", defaultValue = "4", description = "Images per model call (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--progress-file", paramLabel = "FILE",
            description = "Also append progress as JSON lines ({\"done\", \"total\", \"file\", \"unreadable\"}) to FILE, one before each batch and one at the end (the web app reads it).")
    Path progressFile;

    @Spec CommandSpec spec;

    /** The labeler, with its progress also written to --progress-file when given. */
    private Labeler labeler(ImageTagger tagger, PrintStream err) {
        Labeler l = new Labeler(tagger, err);
        if (progressFile == null) return l;
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        return l.onProgress((done, total, file, unreadable) -> {
            String line = json.createObjectNode().put("done", done).put("total", total).put("file", file)
                    .put("unreadable", unreadable).toString() + "\n";
            try {
                java.nio.file.Files.writeString(progressFile, line, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new LabelException("--progress-file " + progressFile + ": cannot write it (" + e.getMessage() + ")");
            }
        });
    }

    @Override
    public Integer call() {
        PrintStream err = System.err;   // the labeler's progress and warnings
        try {
            ImageFiles.requireFolder(input);
            CaptionFormat fmt = resolveFormat();
            Path csvFile = output != null ? output : input.resolve(MetadataCsv.FILE_NAME);
            if (!backend.equals("wd14") && !backend.equals("blip")) {
                throw new LabelException("unknown --backend '" + backend + "': use wd14 or blip");
            }
            if (backend.equals("blip")) {
                if (NONE.equals(model)) throw new LabelException(NO_BLIP_MODEL_MESSAGE);
                Path folder = modelFolder(HubModels.DEFAULT_CAPTIONER, FileSelection.AUTO);
                try (ImageTagger captioner = BlipCaptioner.open(folder, new BlipCaptioner.Options(maxLength, prompt, beams))) {
                    Labeler.Summary summary = labeler(captioner, err)
                            .run(new Labeler.Options(input, fmt, csvFile, trigger, overwrite, batchSize));
                    System.out.println(summary.line());
                }
                return 0;
            }
            TagSelection selection = new TagSelection(threshold, characterThreshold, includeRating);
            boolean none = NONE.equals(model);
            if (none) {
                if (trigger == null || trigger.isBlank()) throw new LabelException(NO_MODEL_MESSAGE);
                err.println("note: --model none, captions will hold only the trigger word '" + trigger.strip() + "'");
            }
            Path folder = none ? null : modelFolder(HubModels.DEFAULT_TAGGER, FileSelection.files(Wd14Tagger.MODEL_FILE, SelectedTags.FILE_NAME));
            try (ImageTagger tagger = none ? ImageTagger.none() : Wd14Tagger.open(folder, selection)) {
                Labeler.Summary summary = labeler(tagger, err)
                        .run(new Labeler.Options(input, fmt, csvFile, trigger, overwrite, batchSize));
                System.out.println(summary.line());
            }
            return 0;
        } catch (DatasetException e) {
            // LabelException and the data layer's errors (missing folder, malformed metadata.csv) alike.
            return ErrorReporter.report(e, spec.commandLine().getErr());
        }
    }

    /** --model as a folder: on disk, or fetched from the Hub (the standard one when --model is left out). */
    private Path modelFolder(String standard, FileSelection files) {
        String name = model != null ? model : standard;
        try {
            return Path.of(HubModels.local(name, files));
        } catch (HubException e) {
            if (model != null) throw e;
            throw new LabelException(e.getMessage() + "\nhint: the standard " + (standard.equals(HubModels.DEFAULT_TAGGER) ? "tagger" : "captioner")
                    + " " + standard + " comes from the Hugging Face Hub on first use: ./lora download " + standard
                    + " on a machine that reaches it (or a mirror through HF_ENDPOINT), or pass --model DIR with a downloaded copy"
                    + (standard.equals(HubModels.DEFAULT_TAGGER) ? ", or --model none --trigger WORD" : ""));
        }
    }

    private CaptionFormat resolveFormat() {
        if (format != null) {
            CaptionFormat fmt = CaptionFormat.parse(format);
            if (fmt == CaptionFormat.JSONL) {
                throw new LabelException("--format jsonl: the labeler writes csv or txt captions; convert them afterwards with"
                        + " ./lora captions convert --input DIR --to jsonl");
            }
            if (fmt == CaptionFormat.TXT && output != null) {
                throw new LabelException("--output " + output + " names a metadata.csv, but --format txt writes the captions"
                        + " beside the images; leave out one of them");
            }
            return fmt;
        }
        if (output != null && !output.getFileName().toString().endsWith(".csv")) {
            throw new LabelException("--output " + output + " must be a .csv file; use --format txt for .txt captions");
        }
        return CaptionFormat.CSV;
    }
}
