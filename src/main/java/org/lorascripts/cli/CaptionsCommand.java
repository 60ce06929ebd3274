package org.lorascripts.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.lorascripts.label.CaptionEdits;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.CaptionStore;
import org.lorascripts.data.ImageFiles;
import org.lorascripts.data.DatasetException;
import org.lorascripts.label.LabelException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ./lora captions <tool>}: tag-level edits of a folder's captions (metadata.csv or .txt files). */
@Command(name = "captions", mixinStandardHelpOptions = true,
        description = "Edit the captions of an image folder (metadata.csv or .txt files, auto-detected).",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora captions freq --input data/my_style --top 30",
            "  ./lora captions add-trigger --input data/my_style mystyle",
            "  ./lora captions replace --input data/my_style 'red hair' 'crimson hair'",
            "  ./lora captions remove --input data/my_style watermark signature",
            "  ./lora captions dedupe --input data/my_style --format txt",
            "  ./lora captions convert --input data/my_style --to txt"},
        subcommands = {CaptionsCommand.AddTrigger.class, CaptionsCommand.Replace.class, CaptionsCommand.Remove.class,
                CaptionsCommand.Dedupe.class, CaptionsCommand.Freq.class, CaptionsCommand.Convert.class})
public final class CaptionsCommand implements Runnable {
    /** Changed files listed one by one up to this many; beyond it only the count is printed. */
    static final int LIST_LIMIT = 20;

    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The folder and format options every tool shares. */
    static final class Folder {
        @Option(names = "--input", required = true, paramLabel = "DIR", description = "Image folder holding the captions.")
        Path input;

        @Option(names = "--format", paramLabel = "csv|txt|jsonl", description = "Force metadata.csv (csv), .txt files (txt) or metadata.jsonl (jsonl); default: metadata.csv, else metadata.jsonl, if present.")
        String format;

        CaptionStore open() {
            ImageFiles.requireFolder(input);
            return format == null ? CaptionStore.open(input) : CaptionStore.open(input, CaptionFormat.parse(format));
        }
    }

    /** Runs a tool, turning a DatasetException (caption files, labeling) into one line on stderr and exit code 2. */
    abstract static class Tool implements Callable<Integer> {
        @Mixin Folder folder;
        @Spec CommandSpec spec;

        abstract void execute(PrintStream out);

        @Override
        public Integer call() {
            try {
                execute(System.out);
                return 0;
            } catch (DatasetException e) {
                return ErrorReporter.report(e, spec.commandLine().getErr());
            }
        }

        /** Applies an edit to every caption, writes the changed ones, and prints them. */
        void edit(String name, UnaryOperator<String> edit, PrintStream out) {
            CaptionStore store = folder.open();
            Map<String, String> changed = CaptionEdits.changes(store.captions(), edit);
            store.putAll(changed);
            printChanges(name, store, changed, out);
        }
    }

    static void printChanges(String name, CaptionStore store, Map<String, String> changed, PrintStream out) {
        int listed = 0;
        for (Map.Entry<String, String> e : changed.entrySet()) {
            if (listed++ == LIST_LIMIT) {
                out.println("  ... and " + (changed.size() - LIST_LIMIT) + " more");
                break;
            }
            out.println("  " + e.getKey() + ": " + e.getValue().replace("\n", "\\n"));
        }
        out.println(name + ": changed " + changed.size() + " of " + store.captions().size() + " captions in "
                + store.location() + " (" + store.format().cliName() + ")");
    }

    @Command(name = "add-trigger", mixinStandardHelpOptions = true, description = "Put WORD first in every caption that lacks it.")
    static final class AddTrigger extends Tool {
        @Parameters(paramLabel = "WORD") String word;

        @Override
        void execute(PrintStream out) {
            edit("add-trigger", CaptionEdits.addTrigger(word), out);
        }
    }

    @Command(name = "replace", mixinStandardHelpOptions = true, description = "Replace the tag OLD by NEW (exact tag match).")
    static final class Replace extends Tool {
        @Parameters(index = "0", paramLabel = "OLD") String oldTag;
        @Parameters(index = "1", paramLabel = "NEW") String newTag;

        @Override
        void execute(PrintStream out) {
            edit("replace", CaptionEdits.replace(oldTag, newTag), out);
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove the given tags (exact tag match).")
    static final class Remove extends Tool {
        @Parameters(arity = "1..*", paramLabel = "TAG") List<String> tags;

        @Override
        void execute(PrintStream out) {
            edit("remove", CaptionEdits.remove(tags), out);
        }
    }

    @Command(name = "dedupe", mixinStandardHelpOptions = true, description = "Remove repeated tags, keeping the first.")
    static final class Dedupe extends Tool {
        @Override
        void execute(PrintStream out) {
            edit("dedupe", CaptionEdits.dedupe(), out);
        }
    }

    @Command(name = "freq", mixinStandardHelpOptions = true, description = "Print how many captions hold each tag, most frequent first.")
    static final class Freq extends Tool {
        @Option(names = "--top", paramLabel = "N", description = "Print only the N most frequent tags.")
        Integer top;

        @Override
        void execute(PrintStream out) {
            if (top != null && top < 1) throw new LabelException("--top must be at least 1, got " + top);
            CaptionStore store = folder.open();
            List<Map.Entry<String, Integer>> freq = CaptionEdits.frequencies(store.captions().values());
            int n = top == null ? freq.size() : Math.min(top, freq.size());
            for (Map.Entry<String, Integer> e : freq.subList(0, n)) {
                out.println(e.getValue() + "\t" + e.getKey());
            }
            out.println("freq: " + freq.size() + " distinct tags in " + store.captions().size() + " captions ("
                    + store.format().cliName() + ")");
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = {"Copy captions between metadata.csv, metadata.jsonl and .txt files; the source stays in place.",
                    "Entries already in the target are replaced by the source's."})
    static final class Convert extends Tool {
        @Option(names = "--to", required = true, paramLabel = "csv|txt|jsonl", description = "Target format.")
        String to;

        @Override
        void execute(PrintStream out) {
            CaptionFormat target = CaptionFormat.parse(to);
            CaptionStore source = folder.open();
            if (source.format() == target) {
                throw new LabelException("captions in " + source.location() + " are already " + target.cliName()
                        + ": pass --format to choose the source");
            }
            Map<String, String> captions = source.captions();
            if (target == CaptionFormat.TXT) {
                Map<String, String> present = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : captions.entrySet()) {
                    if (Files.isRegularFile(source.folder().resolve(e.getKey()))) present.put(e.getKey(), e.getValue());
                    else out.println("  skipped " + e.getKey() + ": no such image beside " + source.location().getFileName());
                }
                captions = present;
            }
            CaptionStore dest = CaptionStore.open(source.folder(), target);
            Map<String, String> writes = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : captions.entrySet()) {
                if (!e.getValue().equals(dest.get(e.getKey()))) writes.put(e.getKey(), e.getValue());
            }
            dest.putAll(writes);
            printChanges("convert", dest, writes, out);
            if (target == CaptionFormat.TXT) {
                out.println("note: " + source.location() + " is kept and other captions tools prefer it;"
                        + " remove it or pass --format txt");
            }
        }
    }
}
