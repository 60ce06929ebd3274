package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.config.ConfigException;
import org.lorascripts.lora.MergedModelWriter;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.text.TokenizerException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora merge}: folds a PEFT adapter into its base model and writes a full HF folder that
 * loads without PEFT (W + B·A·scale in each weight's stored dtype, other files copied). The
 * output appears complete or not at all. Exit codes: 0 ok, 2 bad input, 1 unexpected.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Merge a LoRA (PEFT) adapter into its base model, writing a standalone HF model folder.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora merge --base models/Llama-3.2-1B \\",
            "      --lora output/llm_domain/llama32_domain --output models/llama32-domain",
            "  ./lora merge --base builtin:tiny-llama \\",
            "      --lora runs/quickstart-text/quickstart_text \\",
            "      -o runs/tiny-merged --force",
            "      (--force replaces an existing --output folder)",
            "  ./lora generate --base models/llama32-domain --prompt \"The risks are\"",
            "      (the merged folder loads wherever the base model did, without PEFT)%n"})
public final class MergeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--base", required = true, paramLabel = "DIR", description = "HF model folder (or ORG/NAME on the Hugging Face Hub) the adapter was trained on, or builtin:tiny-llama.")
    String base;

    @ArgGroup(exclusive = true, multiplicity = "1")
    LoraFolderOption lora;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Output output;

    @Option(names = "--force", description = "Replace --output when it exists and is not empty.")
    boolean force;

    /** {@code -o/--output DIR}; {@code --out}, its first name, still works but is hidden from help. */
    static final class Output {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Folder to write the merged model to.")
        Path output;

        @Option(names = "--out", required = true, hidden = true, paramLabel = "DIR")
        Path out;

        Path folder() { return output != null ? output : out; }
    }

    @Override public Integer call() {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            LlmModelFolder folder = LlmModelFolder.resolve(HubModels.local(base, FileSelection.AUTO));
            Path adapter = lora.folder(), out = output.folder();
            Path target = out.toAbsolutePath().normalize();
            if (target.equals(folder.dir()) || target.equals(adapter.toAbsolutePath().normalize())) {
                throw new ConfigException("--output " + out + " is the base model or --lora folder; choose a new folder");
            }
            if (Files.exists(target) && !force && !isEmptyDirectory(target)) {
                throw new ConfigException("--output " + out + " already exists and is not empty; choose another folder or add --force to replace it");
            }
            MergedModelWriter.write(folder.dir(), adapter, target);
            o.println("merged " + adapter + " into " + folder.name() + ": " + target);
            o.flush();
            return 0;
        } catch (IOException | IllegalArgumentException | TokenizerException e) {
            return ErrorReporter.reportUserError(e, err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) return false;
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
