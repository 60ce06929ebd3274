package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import org.lorascripts.config.BaseModel;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.lora.AdapterNetwork;
import org.lorascripts.lora.AdapterSum;
import org.lorascripts.nn.Adapter;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.tasks.sd.PipelineLoras;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.text.prompt.LoraTag;
import org.lorascripts.text.prompt.PromptSyntax;
import org.lorascripts.text.prompt.PromptWithLoras;
import org.lorascripts.train.TrainingDevice;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora sample}: text to image with an SD 1.x/2.x or SDXL checkpoint and kohya LoRAs attached
 * (unmerged, at their multipliers), from {@code --lora} or from AUTOMATIC1111's
 * {@code <lora:name:weight>} tags in the prompt. PNGs are named {@code <index>-<seed>.png} as the
 * WebUI names them, and written atomically.
 */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Generate images with a Stable Diffusion checkpoint and LoRAs.",
        footerHeading = "%nExamples:%n",
        // lines stay within 80 columns: picocli wraps longer ones where no terminal width is known
        footer = {
            "  ./lora sample --base builtin:tiny-sd \\",
            "      --lora runs/quickstart/quickstart.safetensors \\",
            "      --prompt 'a blue star, outline style' --num 4 --seed 1 -o samples/stars",
            "  ./lora sample --base models/v1-5-pruned-emaonly.safetensors \\",
            "      --lora-dir output --prompt 'portrait, <lora:my_style:0.8>' \\",
            "      --negative 'blurry' --sampler dpmpp_2m_karras",
            "",
            "<lora:NAME:W> loads NAME.safetensors from --lora-dir (default: the folder of",
            "the first --lora, else ./output); <lora:NAME:TE:UNET> sets the text-encoder",
            "and UNet weights apart."})
public final class SampleCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--base", required = true, paramLabel = "CKPT", description = "builtin:tiny-sd or builtin:tiny-sdxl, an SD 1.x/2.x or SDXL .safetensors file or a diffusers folder, or ORG/NAME on the Hugging Face Hub.")
    String base;

    @Option(names = "--lora", paramLabel = "FILE[:WEIGHT]", description = "A kohya LoRA (or LyCORIS LoHa/LoKr) file to attach (weight 1 unless given); repeatable.")
    List<String> loras = new ArrayList<>();

    @Option(names = "--lora-dir", paramLabel = "DIR", description = "Where <lora:NAME:W> tags look for NAME.safetensors.")
    Path loraDir;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt; may contain <lora:NAME:WEIGHT> tags.")
    String prompt;

    @Option(names = "--negative", paramLabel = "TEXT", description = "Negative prompt (the unconditional side of guidance).")
    String negative = "";

    @Option(names = "--steps", defaultValue = "20", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--cfg", defaultValue = "7.0", description = "Classifier-free guidance scale (default: ${DEFAULT-VALUE}).")
    double cfg;

    @Option(names = "--sampler", defaultValue = "ddim", paramLabel = "NAME",
            description = "ddim, euler_a, dpmpp_2m or dpmpp_2m_karras (default: ${DEFAULT-VALUE}).")
    String sampler;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the first image (image i uses seed + i); default: random.")
    Long seed;

    @Option(names = "--width", description = "Default: 512 for SD 1.x/2.x, 768 for SD 2.x v-prediction, 1024 for SDXL, 64 for the built-in tiny models.")
    Integer width;

    @Option(names = "--height", description = "Default: as --width.")
    Integer height;

    @Option(names = "--num", defaultValue = "1", paramLabel = "N", description = "Number of images (default: ${DEFAULT-VALUE}).")
    int num;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Output output;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--clip-skip", defaultValue = "1", paramLabel = "N", description = "Use the N-th last text-encoder layer (default: ${DEFAULT-VALUE}; SDXL: 1 only).")
    int clipSkip;

    @Option(names = "--max-token-length", defaultValue = "75", paramLabel = "75|150|225", description = "Prompt tokens before truncation (default: ${DEFAULT-VALUE}).")
    int maxTokenLength;

    @Option(names = "--ldm-config", paramLabel = "YAML",
            description = "The LDM .yaml of a single-file --base (heads, v-prediction, VAE scale); default: the .yaml beside it, if any.")
    Path ldmConfig;

    @Option(names = "--prediction-type", defaultValue = "auto", paramLabel = "auto|epsilon|v_prediction",
            description = "What the UNet predicts; auto reads a diffusers folder's scheduler config, else epsilon (SD 2.x 768 single files need v_prediction).")
    String predictionType;

    /** {@code -o/--output DIR}; {@code --out}, its first name, still works but is hidden from help. */
    static final class Output {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Output folder (default: samples).")
        Path output;

        @Option(names = "--out", required = true, hidden = true, paramLabel = "DIR")
        Path out;

        static Path folder(Output given) {
            if (given == null) return Path.of("samples");
            return given.output != null ? given.output : given.out;
        }
    }

    /** One LoRA to attach and its text-encoder / UNet multipliers. */
    private record LoraUse(Path file, double teWeight, double unetWeight, String origin) {}

    @Override public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return run(spec.commandLine().getOut());
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private int run(PrintWriter console) throws IOException {
        base = HubModels.local(base, FileSelection.AUTO);   // org/name: fetched from the Hub into the shared cache
        SampleSampler kind = switch (sampler.toLowerCase(Locale.ROOT)) {
            case "ddim" -> SampleSampler.DDIM;
            case "euler_a", "euler-a" -> SampleSampler.EULER_A;
            case "dpmpp_2m", "dpmpp-2m" -> SampleSampler.DPMPP_2M;
            case "dpmpp_2m_karras", "dpmpp-2m-karras" -> SampleSampler.DPMPP_2M_KARRAS;
            default -> throw new ConfigException("--sampler " + sampler + " is not known; use ddim, euler_a, dpmpp_2m or dpmpp_2m_karras");
        };
        if (steps < 1) throw new ConfigException("--steps must be at least 1, got " + steps);
        if (num < 1) throw new ConfigException("--num must be at least 1, got " + num);
        if (maxTokenLength % 75 != 0 || maxTokenLength < 75) throw new ConfigException("--max-token-length must be 75, 150 or 225, got " + maxTokenLength);
        PromptWithLoras positive = parsePrompt(prompt, "--prompt");
        PromptWithLoras negativePrompt = parsePrompt(negative, "--negative");
        List<LoraUse> uses = loraUses(positive.loras());
        UNetConfig.Prediction prediction = switch (predictionType.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "epsilon" -> UNetConfig.Prediction.EPSILON;
            case "v_prediction" -> UNetConfig.Prediction.V_PREDICTION;
            default -> throw new ConfigException("--prediction-type " + predictionType + " is not known; use auto, epsilon or v_prediction");
        };
        BaseModel baseModel = SdPipeline.parseBase(base);
        if (baseModel instanceof BaseModel.Local l && !Files.exists(l.path())) {
            throw new ConfigException("--base " + base + ": no such file or folder; give an SD 1.x/2.x or SDXL .safetensors file, a diffusers folder, builtin:tiny-sd or builtin:tiny-sdxl");
        }
        Device dev = TrainingDevice.resolve(device);
        DType dtype = dev.isCuda() ? DType.F16 : DType.F32;
        try (SdPipeline pipeline = open(baseModel, prediction, ldmConfig, dev, dtype)) {
            PrintWriter err = spec.commandLine().getErr();
            for (String note : pipeline.checkpoint().notes()) err.println("note: " + note);
            err.flush();
            List<AdapterNetwork> networks = attach(pipeline, uses);
            try {
                int w = width != null ? width : defaultSize(pipeline, baseModel);
                int h = height != null ? height : width != null ? width : defaultSize(pipeline, baseModel);
                long first = seed != null ? seed : ThreadLocalRandom.current().nextLong(1L << 32);
                if (pipeline.family() == SdFamily.SDXL && clipSkip != 1) {
                    throw new ConfigException("--clip-skip " + clipSkip + ": SDXL is conditioned on the penultimate layer of both text encoders; leave --clip-skip at 1");
                }
                if (clipSkip < 1 || clipSkip > pipeline.textEncoder().config().layers()) {
                    throw new ConfigException("--clip-skip must be in [1, " + pipeline.textEncoder().config().layers() + "] for this model, got " + clipSkip);
                }
                SdImageGenerator generator = new SdImageGenerator(pipeline, maxTokenLength, clipSkip);
                for (int i = 0; i < num; i++) {
                    long s = first + i;
                    byte[] png;
                    try {
                        png = generator.png(new SdImageGenerator.Request(positive.text(), negativePrompt.text(), w, h, steps, cfg, kind, s));
                    } catch (IllegalArgumentException e) {   // the image size: say which options set it
                        throw new ConfigException("--width " + w + " --height " + h + ": " + e.getMessage());
                    }
                    Path file = Output.folder(output).resolve(String.format(Locale.ROOT, "%05d-%d.png", i, s));
                    AtomicFileWriter.write(file, png);
                    console.println(file + " (" + w + "x" + h + ", seed " + s + ")");
                    console.flush();
                }
            } finally {
                for (AdapterNetwork n : networks) n.close();
            }
        }
        return 0;
    }

    private static PromptWithLoras parsePrompt(String text, String option) {
        try {
            return PromptSyntax.extractLoras(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(option + ": " + e.getMessage());
        }
    }

    private static SdPipeline open(BaseModel baseModel, UNetConfig.Prediction prediction, Path ldmConfig, Device dev, DType dtype)
            throws IOException {
        try {
            return SdPipeline.open(baseModel, prediction, ldmConfig, dev, dtype);
        } catch (IllegalArgumentException | UnsupportedOperationException | NoSuchFileException e) {
            throw new ConfigException("--base " + baseModel + ": " + e.getMessage());
        }
    }

    /** The --lora files, then the prompt's tags resolved in --lora-dir. */
    private List<LoraUse> loraUses(List<LoraTag> tags) {
        List<LoraUse> uses = new ArrayList<>();
        for (String spec : loras) {
            int colon = spec.lastIndexOf(':');
            Path file = Path.of(spec);
            double weight = 1.0;
            if (colon > 0) {
                try {
                    weight = Double.parseDouble(spec.substring(colon + 1));
                    file = Path.of(spec.substring(0, colon));
                } catch (NumberFormatException e) {
                    // no weight: the colon belongs to the path
                }
            }
            if (!Files.exists(file)) file = Path.of(HubModels.local(file.toString(), FileSelection.AUTO));   // ORG/NAME/FILE.safetensors on the Hub
            uses.add(new LoraUse(checkedFile(file, "--lora " + spec), weight, weight, "--lora " + spec));
        }
        Path dir = loraDir != null ? loraDir
                : !uses.isEmpty() && uses.getFirst().file().toAbsolutePath().getParent() != null ? uses.getFirst().file().toAbsolutePath().getParent()
                : Path.of("output");
        for (LoraTag t : tags) {
            String name = t.name();
            Path file = dir.resolve(name.endsWith(".safetensors") ? name : name + ".safetensors");
            if (!Files.isRegularFile(file)) {
                throw new ConfigException("<lora:" + name + "> in --prompt: no " + file + "; available in " + dir + ": " + available(dir)
                        + " (set --lora-dir to the folder of your LoRAs)");
            }
            uses.add(new LoraUse(checkedFile(file, "<lora:" + name + ">"), t.weight(), t.unetWeight(), "<lora:" + name + ">"));
        }
        return uses;
    }

    private static Path checkedFile(Path file, String origin) {
        var pickle = PickleFiles.extension(file);
        if (pickle.isPresent()) throw new ConfigException(PickleFiles.refusal(origin, pickle.get(), PickleFiles.tensorDictConversion(file)));
        if (!Files.isRegularFile(file)) throw new ConfigException(origin + ": no such file " + file);
        return file;
    }

    private static String available(Path dir) {
        if (!Files.isDirectory(dir)) return "(the folder does not exist)";
        try (var files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors"))
                    .map(n -> n.substring(0, n.length() - ".safetensors".length())).sorted().toList();
            return names.isEmpty() ? "none" : String.join(", ", names.subList(0, Math.min(8, names.size()))) + (names.size() > 8 ? ", ..." : "");
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Loads every LoRA unmerged ({@link PipelineLoras}, any family); a module carrying several gets their sum. */
    private static List<AdapterNetwork> attach(SdPipeline pipeline, List<LoraUse> uses) throws IOException {
        List<AdapterNetwork> all = new ArrayList<>();
        Map<LoraHost, List<Adapter>> perHost = new IdentityHashMap<>();
        for (LoraUse u : uses) {
            Map<String, ? extends AdapterNetwork> nets;
            try {
                nets = PipelineLoras.loadAny(u.file(), pipeline);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(u.origin() + ": " + e.getMessage());
            }
            for (var n : nets.entrySet()) n.getValue().setMultiplier(n.getKey().equals(KohyaLoraWriter.PREFIX_UNET) ? u.unetWeight() : u.teWeight());
            for (AdapterNetwork n : nets.values()) {
                all.add(n);
                for (var e : n.adapters().entrySet()) perHost.computeIfAbsent(n.hosts().get(e.getKey()), k -> new ArrayList<>()).add(e.getValue());
            }
        }
        for (var e : perHost.entrySet()) if (e.getValue().size() > 1) e.getKey().attach(new AdapterSum(e.getValue()));
        return all;
    }

    private static int defaultSize(SdPipeline p, BaseModel base) {
        if (base instanceof BaseModel.Builtin) return 64;
        if (p.family() == SdFamily.SDXL) return 1024;
        return p.family() == SdFamily.SD2 && p.vPrediction() ? 768 : 512;
    }
}
