package org.lorascripts.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.tasks.llm.GgufLoraExport;
import org.lorascripts.tensor.DType;
import org.lorascripts.hub.FileSelection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./lora export}: a PEFT LoRA adapter in another format; today GGUF for llama.cpp ({@code llama-cli --lora}). */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Export a PEFT LoRA adapter for another runtime (--format gguf: llama.cpp).",
                "llama.cpp loads the file with llama-cli -m base.gguf --lora adapter.gguf."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora export --format gguf --lora output/llm_domain/llama32_domain \\",
            "      --base models/Llama-3.2-1B -o output/llama32_domain.gguf",
            "  ./lora export --format gguf --lora runs/quickstart-text/quickstart_text \\",
            "      --base builtin:tiny-llama --outtype f32 -o runs/quickstart_text.gguf%n"})
public final class ExportCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--format", required = true, paramLabel = "FMT", description = "Output format: gguf.")
    String format;

    @Option(names = "--lora", required = true, paramLabel = "DIR", description = "The PEFT adapter folder (adapter_config.json + adapter_model.safetensors).")
    Path lora;

    @Option(names = "--base", required = true, paramLabel = "DIR", description = "The HF model folder it was trained on (or builtin:tiny-llama): its architecture and head counts.")
    String base;

    @Option(names = "--outtype", paramLabel = "T", defaultValue = "f16", description = "Tensor type: f32, f16 or bf16 (default: ${DEFAULT-VALUE}, as llama.cpp's converter).")
    String outtype;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "The .gguf file to write.")
    Path output;

    @Option(names = "--force", description = "Replace --output when it exists.")
    boolean force;

    @Override public Integer call() {
        return LoraFileArgs.run(spec, o -> {
            if (!format.equals("gguf")) throw new IllegalArgumentException("--format " + format + " is not supported; use gguf");
            LlmModelFolder folder = LlmModelFolder.resolve(HubModels.local(base, FileSelection.AUTO));   // ORG/NAME: fetched from the Hub
            LoraFileArgs.checkOutput(output, force, lora);
            DType dtype = LoraFileArgs.saveDtype(outtype);
            GgufLoraExport.Report r = GgufLoraExport.export(lora, folder.dir(), dtype, output);
            o.println("exported " + r.modules() + " modules of " + lora + " (" + r.architecture() + ", alpha " + LoraFileArgs.fmt(r.alpha())
                    + (r.foldedScales() > 0 ? ", " + r.foldedScales() + " module scales folded into lora_b" : "") + ") as " + dtype.displayName()
                    + ": " + output);
        });
    }
}
