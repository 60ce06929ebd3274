package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.lorascripts.config.ConfigException;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.hub.HubId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ./lora download}: fetches a model from the Hugging Face Hub into the shared cache ahead of use. */
@Command(name = "download", mixinStandardHelpOptions = true,
        description = {"Fetch a model from the Hugging Face Hub into the shared cache.",
                "The cache is laid out as huggingface_hub lays it out, so Python tools share it; use it e.g. before training",
                "on a machine without network access. Prints the local folder or file."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora download stabilityai/stable-diffusion-xl-base-1.0 --variant fp16",
            "  ./lora download TinyLlama/TinyLlama-1.1B-Chat-v1.0 --revision main",
            "  ./lora download SmilingWolf/wd-v1-4-convnext-tagger-v2 --include model.onnx --include selected_tags.csv",
            "",
            "Without --include: the safetensors weights, configs and tokenizer files (never .bin/.ckpt pickles).",
            "Environment: HF_ENDPOINT (a mirror), HF_TOKEN (gated models; else the token file in HF_HOME),",
            "HF_HOME / HF_HUB_CACHE (the cache), HF_HUB_OFFLINE=1 (the cache only)."})
public final class DownloadCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ORG/NAME", description = "The model, e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0 (ORG/NAME/FILE for one file; @REV for a revision).")
    String name;

    @Option(names = "--revision", paramLabel = "REV", description = "Branch, tag or commit (default: main, or the @REV of the name).")
    String revision;

    @Option(names = "--include", paramLabel = "GLOB", description = "Fetch exactly the files matching GLOB (repeatable), e.g. 'unet/*'.")
    List<String> include = new ArrayList<>();

    @Option(names = "--variant", paramLabel = "fp16", description = "Prefer weights of this variant (model.fp16.safetensors).")
    String variant;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            HubId id = HubId.parse(name).orElseThrow(() -> new ConfigException("'" + name + "' is not a Hub model id: write ORG/NAME"
                    + " (e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0), ORG/NAME/FILE or ORG/NAME@REVISION")).withRevision(revision);
            Path local = HubModels.hub(System.err).fetch(id, new FileSelection(include, Optional.ofNullable(variant)));
            out.println(local);
            out.flush();
            return 0;
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }
}
