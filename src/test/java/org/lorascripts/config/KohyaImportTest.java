package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kohya sd-scripts' TOML files (src/test/resources/kohya: a training-argument file that names its dataset
 * config) read as our config: kohya's names and section flattening, its dataset-config inheritance
 * (subset, then dataset, then [general]), its defaults where ours differ, the keys not converted listed,
 * the YAML written back loading to the same config, and one-line errors with the TOML line.
 */
class KohyaImportTest {
    @TempDir Path dir;

    /** Copies the fixture files into {@code dir} (relative paths in them resolve there). */
    static Path fixture(Path dir, String... names) throws IOException {
        for (String n : names) {
            try (InputStream in = KohyaImportTest.class.getResourceAsStream("/kohya/" + n)) {
                Files.copy(in, dir.resolve(n));
            }
        }
        return dir.resolve(names[0]);
    }

    private static String text(Path file) throws IOException { return Files.readString(file); }

    @Test
    void argumentsAndTheirDatasetConfigBecomeOurKeys() throws IOException {
        Path args = fixture(dir, "args.toml", "dataset.toml");
        LoadedConfig loaded = ConfigLoader.load(args, List.of());
        TrainConfig c = loaded.config();
        assertEquals(new BaseModel.Builtin("tiny-sd"), c.model().baseModel());
        assertEquals(8, c.lora().rank());
        assertEquals(4.0, c.lora().alpha());
        assertEquals(4, c.lora().convRank());                       // network_args conv_dim=4
        assertEquals(2.0, c.lora().convAlpha());
        assertFalse(c.lora().trainTextEncoder());                   // network_train_unet_only = true
        // kohya's noise and loss options
        assertEquals(new TrainConfig.Diffusion(false, 0, 0.1, false, 100, 1000, false, 0, true, 0, 0.3), c.loop().diffusion());
        // kohya's dropouts keep their meaning: on the rank-r hidden, per rank, per module (not lora_dropout, the input's)
        assertEquals(java.util.List.of(0.1, 0.2, 0.05, 0.0), java.util.List.of(c.lora().networkDropout(), c.lora().rankDropout(),
                c.lora().moduleDropout(), c.lora().dropout()));
        assertEquals(8.0, c.optimizer().loraPlusUnetLrRatio());     // network_args loraplus_unet_lr_ratio=8
        assertEquals(1.0, c.optimizer().loraPlusTextEncoderLrRatio());
        assertEquals(1e-4, c.optimizer().learningRate());
        assertEquals(LrScheduler.COSINE, c.schedule().scheduler());
        assertEquals(10, c.schedule().warmupSteps());
        assertEquals(2, c.loop().epochs());
        assertEquals(0, c.loop().maxSteps());                       // kohya: max_train_epochs wins over max_train_steps
        assertEquals(2, c.loop().batchSize());                      // [[datasets]] batch_size
        assertEquals(7, c.loop().seed());
        assertEquals(SavePrecision.FP16, c.output().savePrecision());
        assertEquals(dir.resolve("out"), c.output().outputDir());
        assertEquals("style", c.output().outputName());
        assertEquals(Resolution.square(64), c.image().resolution());
        assertTrue(c.image().buckets().enabled());
        assertEquals(64, c.image().buckets().minReso());
        assertEquals(128, c.image().buckets().maxReso());
        assertFalse(c.image().cacheLatents());
        // [general] is our top level, which the subsets inherit; a subset's own key wins
        assertEquals(".txt", c.image().captionExtension());
        assertTrue(c.image().shuffleCaption());
        List<TrainConfig.Subset> s = c.data().subsets();
        assertEquals(3, s.size());
        assertEquals(new TrainConfig.Subset(dir.resolve("img/style"), 10, "mystyle", false, Optional.empty(), ".txt", true, 1, "",
                0, 0, false, false, TrainConfig.Captions.NONE), s.get(0));
        assertEquals(new TrainConfig.Subset(dir.resolve("img/extra"), 3, "", false, Optional.empty(), ".txt", true, 2, "",
                0, 0, true, false, TrainConfig.Captions.NONE), s.get(1));
        assertEquals(new TrainConfig.Subset(dir.resolve("reg/person"), 1, "person", true, Optional.empty(), ".txt", true, 1, "",
                0, 0, false, false, TrainConfig.Captions.NONE), s.get(2));
        assertEquals(dir, c.data().trainDataDir());                 // the folder that holds every subset
    }

    @Test
    void keysNotConvertedAreListedNotDropped() throws IOException {
        Path args = fixture(dir, "args.toml", "dataset.toml");
        List<String> w = ConfigLoader.load(args, List.of()).warnings().stream().map(ConfigWarning::message).toList();
        String all = String.join("\n", w);
        int unknown = lineOf(args, "some_new_flag"), color = lineOf(args, "color_aug");
        assertTrue(w.contains("kohya keys not known here, not used: some_new_flag (" + args + ":" + unknown + ")"), all);
        assertTrue(w.contains("kohya keys known but not implemented here, not used: color_aug (" + args + ":" + color
                + ": hue augmentation)"), all);
        assertTrue(all.contains("kohya keys without effect here (kohya's runtime only): v2, save_model_as, xformers"), all);
        assertTrue(all.contains("train_data_dir (" + args + ":" + lineOf(args, "train_data_dir") + ") is ignored: the dataset config"
                + " names the images, as in kohya"), all);
        assertTrue(all.contains("max_train_steps (" + args + ":" + lineOf(args, "max_train_steps") + ") is ignored: max_train_epochs wins"), all);
    }

    private static int lineOf(Path file, String key) throws IOException {
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).strip().startsWith(key + " =")) return i + 1;
        throw new AssertionError(key + " not in " + file);
    }

    @Test
    void kohyasDefaultsAreWrittenWhereOursDiffer() throws IOException {
        Path args = Files.writeString(dir.resolve("min.toml"), """
                pretrained_model_name_or_path = "builtin:tiny-sd"
                train_data_dir = "train"
                """);
        TrainConfig c = ConfigLoader.load(args, List.of()).config();
        // train_util.py / train_network.py defaults: learning_rate 2e-6, lr_scheduler constant, max_train_steps 1600,
        // network_dim None -> 4 (networks/lora.py), network_alpha 1, text encoder trained, caption_extension .caption,
        // no buckets, no latent cache, save_precision None (the weights as trained: fp32)
        assertEquals(2e-6, c.optimizer().learningRate());
        assertEquals(LrScheduler.CONSTANT, c.schedule().scheduler());
        assertEquals(1600, c.loop().maxSteps());
        assertEquals(4, c.lora().rank());
        assertEquals(1.0, c.lora().alpha());
        assertTrue(c.lora().trainTextEncoder());
        assertEquals(".caption", c.image().captionExtension());
        assertFalse(c.image().buckets().enabled());
        assertFalse(c.image().cacheLatents());
        assertEquals(SavePrecision.FP32, c.output().savePrecision());
        assertEquals(dir.resolve("train"), c.data().trainDataDir());
        assertFalse(c.model().fp8Base());
    }

    @Test
    void fp8BaseIsOurs() throws IOException {
        Path args = Files.writeString(dir.resolve("fp8.toml"), """
                pretrained_model_name_or_path = "builtin:tiny-sd"
                train_data_dir = "train"
                fp8_base = true
                """);
        LoadedConfig loaded = ConfigLoader.load(args, List.of());
        assertTrue(loaded.config().model().fp8Base());
        for (ConfigWarning w : loaded.warnings()) assertFalse(w.message().contains("fp8_base"), w.message());
    }

    @Test
    void theYamlWrittenLoadsToTheSameConfig() throws IOException {
        Path args = fixture(dir, "args.toml", "dataset.toml");
        KohyaImport.Conversion conv = KohyaImport.read(args);
        TrainConfig fromToml = ConfigLoader.load(conv, List.of()).config();
        // printed: absolute paths
        String printed = conv.yaml(null);
        assertEquals(fromToml, ConfigLoader.loadText(printed, "printed.yaml", Path.of("/elsewhere"), List.of()).config(), printed);
        // written to a file in another folder: paths relative to it
        Path out = Files.createDirectories(dir.resolve("configs"));
        String written = conv.yaml(out);
        Path yaml = Files.writeString(out.resolve("style.yaml"), written);
        assertEquals(fromToml, ConfigLoader.load(yaml, List.of()).config(), written);
        assertTrue(written.contains("  subsets:\n    - image_dir: \"../img/style\"\n      num_repeats: 10\n      class_tokens: \"mystyle\"\n"), written);
        assertTrue(written.contains("  lora_rank: 8   # kohya: network_dim\n"), written);
        assertTrue(written.contains("  conv_rank: 4   # kohya: network_args \"conv_dim=4\"\n"), written);
    }

    @Test
    void aDatasetConfigAloneNeedsOnlyTheBaseModel() throws IOException {
        Path data = fixture(dir, "dataset.toml");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(data, List.of()));
        assertEquals(List.of(data + ": missing required key 'base_model': " + ConfigKeys.get("base_model").help()), e.problems());
        TrainConfig c = ConfigLoader.load(data, List.of("base_model=builtin:tiny-sd")).config();
        assertEquals(3, c.data().subsets().size());
        assertEquals(1e-4, c.optimizer().learningRate());           // training keys stay ours: the file holds none
        String yaml = KohyaImport.read(data).yaml(null);
        assertTrue(yaml.contains("model_config:\n  # base_model: the kohya files name no base checkpoint; set it here\n"), yaml);
    }

    @Test
    void lycorisNetworkModuleAndItsArgsCarryOver() throws IOException {
        Path args = Files.writeString(dir.resolve("a.toml"), """
                pretrained_model_name_or_path = "builtin:tiny-sd"
                train_data_dir = "x"
                optimizer_type = "AdamW8bit"
                network_module = "lycoris.kohya"
                network_args = ["algo=lokr", "factor=8", "conv_dim=4", "conv_alpha=1", "preset=attn-mlp"]
                """);
        LoadedConfig loaded = ConfigLoader.load(args, List.of());
        TrainConfig.Lora l = loaded.config().lora();
        assertEquals(NetworkType.LOKR, l.networkType());
        assertEquals(8, l.networkArgs().factor());
        assertEquals(4, l.convRank());
        assertEquals(OptimizerType.ADAMW8BIT, loaded.config().optimizer().type());
        assertTrue(loaded.warnings().stream().anyMatch(w -> w.message().contains("preset")), "LyCORIS' preset is named as not implemented");
        TrainConfig.Lora dora = ConfigLoader.load(Files.writeString(dir.resolve("b.toml"), """
                pretrained_model_name_or_path = "builtin:tiny-sd"
                train_data_dir = "x"
                network_module = "lycoris.kohya"
                network_args = ["algo=lora", "dora_wd=True"]
                """), List.of()).config().lora();
        assertTrue(dora.useDora());
        assertEquals(NetworkType.LORA, dora.networkType());
    }

    @Test
    void aTomlSyntaxErrorIsOneLineWithFileAndLine() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.toml"), "learning_rate = 1e-4\nnetwork_dim = = 8\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(bad, List.of()));
        assertEquals(1, e.problems().size());
        assertTrue(e.getMessage().startsWith(bad + ":2:"), e.getMessage());
        assertTrue(e.getMessage().contains("TOML syntax error"), e.getMessage());
    }

    @Test
    void badValuesNameTheTomlLineAndTheKeyAsWritten() throws IOException {
        Path args = Files.writeString(dir.resolve("a.toml"), """
                [model_arguments]
                pretrained_model_name_or_path = "builtin:tiny-sd"
                [training_arguments]
                train_data_dir = "x"
                network_dim = "eight"
                learning_rate = -1
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(args, List.of()));
        assertEquals(List.of(args + ":5: network_dim must be an integer in 1..1024, got 'eight'",
                args + ":6: learning_rate must be a number > 0, got '-1'"), e.problems());
    }

    @Test
    void badSubsetValuesNameTheirLine() throws IOException {
        Path data = Files.writeString(dir.resolve("d.toml"), """
                [[datasets]]
                resolution = 64
                  [[datasets.subsets]]
                  image_dir = "a"
                  [[datasets.subsets]]
                  image_dir = "b"
                  num_repeats = 0
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(data, List.of("base_model=builtin:tiny-sd")));
        assertEquals(List.of(data + ":7: subsets[1].num_repeats must be an integer >= 1, got '0'"), e.problems());
    }

    @Test
    void datasetsThatDisagreeOnTheirShapeAreRefused() throws IOException {
        Path data = Files.writeString(dir.resolve("d.toml"), """
                [[datasets]]
                resolution = 512
                  [[datasets.subsets]]
                  image_dir = "a"
                [[datasets]]
                resolution = 768
                  [[datasets.subsets]]
                  image_dir = "b"
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> KohyaImport.read(data));
        assertEquals(data + ":6: resolution = 768 here but 512 in datasets[0].resolution: lora-scripts trains the datasets as one,"
                + " with one resolution; give every dataset the same (e.g. in [general]) or train them in separate runs", e.getMessage());
    }

    @Test
    void tomlLinesFollowTablesAndArraysOfTables() {
        var lines = KohyaToml.lines("""
                a = 1
                [general]
                b = 2
                [[datasets]]
                c = 3
                  [[datasets.subsets]]
                  d = 4
                  [[datasets.subsets]]
                  d = 5
                [[datasets]]
                  [[datasets.subsets]]
                  e = 6
                """);
        assertEquals(1, lines.get("a"));
        assertEquals(3, lines.get("general.b"));
        assertEquals(5, lines.get("datasets[0].c"));
        assertEquals(7, lines.get("datasets[0].subsets[0].d"));
        assertEquals(9, lines.get("datasets[0].subsets[1].d"));
        assertEquals(12, lines.get("datasets[1].subsets[0].e"));
    }
}
