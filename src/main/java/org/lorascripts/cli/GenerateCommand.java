package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.config.ChatTemplate;
import org.lorascripts.config.ConfigException;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.tasks.llm.PromptCompleter;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.text.ChatRenderer;
import org.lorascripts.text.ChatRenderers;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TokenizerException;
import org.lorascripts.train.TrainingDevice;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora generate}: completes prompts with an HF causal LM, optionally with a PEFT adapter
 * ({@code --lora}) attached (unmerged, so the base weights stay exact). Greedy by default; KV cache; stops at EOS.
 * Prints each completion (special tokens removed); with several prompts, each after a
 * {@code ### <prompt>} line. Exit codes: 0 ok, 2 bad input, 1 unexpected.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Complete prompts with a text model, optionally with a LoRA (PEFT) adapter.",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora generate --base builtin:tiny-llama \\",
            "      --lora runs/quickstart-text/quickstart_text \\",
            "      --prompt \"To brew green tea,\"",
            "  ./lora generate --base models/Llama-3.2-1B-Instruct --chat \\",
            "      --prompt \"What is LoRA?\" --temperature 0.7 --top-p 0.9 --seed 1",
            "  ./lora generate --base models/Llama-3.2-1B --prompt-file prompts.txt",
            "      (one prompt per line; blank lines are skipped)%n"})
public final class GenerateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--base", required = true, paramLabel = "DIR", description = "HF model folder, ORG/NAME on the Hugging Face Hub, or builtin:tiny-llama.")
    String base;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    LoraFolderOption lora;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt; repeatable.")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--prompt-file", paramLabel = "FILE", description = "A UTF-8 file with one prompt per line.")
    Path promptFile;

    @Option(names = "--chat", description = "Wrap each prompt as a user turn in the tokenizer's chat template, with the generation prompt.")
    boolean chat;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "128", description = "Most tokens to generate per prompt (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 = greedy; > 0 samples (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0", description = "Nucleus sampling mass, (0, 1] (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "Keep the K likeliest tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto", description = "auto, cpu or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            List<String> all = allPrompts();
            checkOptions();
            Device dev = TrainingDevice.resolve(device);
            LlmModelFolder folder = LlmModelFolder.resolve(HubModels.local(base, FileSelection.AUTO));
            Path adapter = LoraFolderOption.of(lora).orElse(null);
            try (HfTokenizer tok = HfTokenizer.load(folder.dir());
                 LlamaForCausalLM model = LlamaForCausalLM.load(folder.dir(), dev, inferenceDType(dev));
                 LoraNetwork net = adapter == null ? null : PeftAdapterReader.attach(adapter, model.loraHosts(), dev)) {
                if (net != null) net.setTraining(false);
                ChatRenderer format = chat ? ChatRenderers.resolve(ChatTemplate.AUTO, Optional.empty(), tok) : ChatFormat.NONE;
                if (chat && !format.hasMarkup()) {
                    err.println("warning: --chat: " + folder.dir() + " has no chat_template (tokenizer_config.json or chat_template.jinja);"
                            + " prompts are used as plain text");
                    err.flush();
                }
                PromptCompleter completer = new PromptCompleter(model, tok, format);
                Generator.Options options = new Generator.Options(maxNewTokens, temperature, topP, topK, seed, null, true);
                for (String p : all) {
                    if (all.size() > 1) out.println("### " + p);
                    out.println(completer.complete(p, options).text());
                    out.flush();
                }
            }
            return 0;
        } catch (IOException | IllegalArgumentException | TokenizerException e) {
            return ErrorReporter.reportUserError(e, err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private List<String> allPrompts() throws IOException {
        List<String> all = new ArrayList<>(prompts);
        if (promptFile != null) {
            if (!Files.isRegularFile(promptFile)) throw new ConfigException("--prompt-file " + promptFile + " does not exist");
            for (String line : Files.readAllLines(promptFile, StandardCharsets.UTF_8)) if (!line.isBlank()) all.add(line);
        }
        if (all.isEmpty()) throw new ConfigException("no prompt: give --prompt TEXT (repeatable) or --prompt-file FILE");
        return all;
    }

    private void checkOptions() {
        if (maxNewTokens < 1) throw new ConfigException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        if (!(temperature >= 0)) throw new ConfigException("--temperature must be >= 0 (0 = greedy), got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new ConfigException("--top-p must be in (0, 1], got " + topP);
        if (topK < 0) throw new ConfigException("--top-k must be >= 0 (0 = off), got " + topK);
    }

    /** fp32 on the CPU; on CUDA bf16 where supported, else fp16 (as inference usually runs). */
    private static DType inferenceDType(Device d) {
        if (!d.isCuda()) return DType.F32;
        return Cuda.isBf16Supported() ? DType.BF16 : DType.F16;
    }
}
