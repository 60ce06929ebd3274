package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.KohyaImport;
import org.lorascripts.config.LoadedConfig;
import org.lorascripts.io.AtomicFileWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./lora import}: another trainer's config as our YAML. */
@Command(name = "import", mixinStandardHelpOptions = true, subcommands = ImportCommand.Kohya.class,
        description = "Convert another trainer's config files to a lora-scripts YAML config.",
        footerHeading = "%nExamples:%n",
        footer = {"  ./lora import kohya --config my_args.toml -o my.yaml",
                  "      kohya sd-scripts' training arguments (and the dataset config they name)"})
public final class ImportCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code ./lora import kohya}: kohya sd-scripts' training-argument TOML and/or dataset TOML as our YAML.
     * The result is checked as {@code ./lora train} would check it (problems name the TOML file and line) and
     * nothing is written when it fails; the kohya keys that were not converted are listed as warnings.
     */
    @Command(name = "kohya", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
            description = "Convert kohya sd-scripts TOML files (--config_file arguments, --dataset_config datasets) to a"
                    + " lora-scripts YAML config (./lora train --config FILE.toml reads them directly, too).",
            footerHeading = "%nExamples:%n",
            footer = {
                "  ./lora import kohya --config my_args.toml -o my.yaml",
                "      the arguments and the dataset config they name (dataset_config)",
                "  ./lora import kohya --config my_args.toml --dataset my_dataset.toml",
                "      print the YAML of both files",
                "  ./lora import kohya --dataset my_dataset.toml -o data.yaml"})
    static final class Kohya implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Option(names = "--config", paramLabel = "FILE", description = "kohya's training arguments (the --config_file TOML); a dataset config is read as --dataset.")
        Path config;

        @Option(names = "--dataset", paramLabel = "FILE", description = "kohya's dataset config ([general], [[datasets]], [[datasets.subsets]]); overrides the dataset_config the arguments name.")
        Path dataset;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the YAML here (paths relative to its folder) instead of printing it (absolute paths).")
        Path output;

        @Option(names = "--force", description = "Replace an existing --output file.")
        boolean force;

        @Override public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            try {
                return run(spec.commandLine().getOut(), err);
            } catch (Exception e) {
                return ErrorReporter.report(e, err);
            }
        }

        private int run(PrintWriter out, PrintWriter err) throws Exception {
            if (config == null && dataset == null) {
                throw new ConfigException("give --config ARGS.toml and/or --dataset DATASET.toml, e.g. ./lora import kohya --config my_args.toml -o my.yaml");
            }
            if (output != null && Files.exists(output) && !force) {
                throw new ConfigException(output + " exists; choose another -o file or add --force to replace it");
            }
            KohyaImport.Conversion c = dataset == null ? KohyaImport.read(config) : KohyaImport.read(config, dataset);
            String yaml = c.yaml(output == null ? null : output.toAbsolutePath().normalize().getParent());
            // checked as ./lora train checks it; the base model may be missing from kohya's dataset file alone
            List<String> overrides = new ArrayList<>();
            if (!c.has("base_model")) overrides.add("base_model=builtin:tiny-sd");
            LoadedConfig loaded = ConfigLoader.load(c, overrides);
            for (ConfigWarning w : loaded.warnings()) err.println("warning: " + c.source() + ": " + w.message());
            if (!c.has("base_model")) err.println("note: the kohya files name no base model: set base_model in the YAML");
            err.flush();
            if (output == null) {
                out.print(yaml);
                out.flush();
            } else {
                AtomicFileWriter.write(output, yaml.getBytes(StandardCharsets.UTF_8));
                out.println("wrote " + output + " (" + c.size() + " keys); check it with: ./lora train --config " + output + " --dry-run");
                out.flush();
            }
            return 0;
        }
    }
}
