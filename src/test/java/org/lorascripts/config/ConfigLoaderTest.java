package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir Path dir;

    private static final String MINIMAL = """
            base_model: builtin:tiny-sd
            train_data_dir: data
            """;

    @Test void flatAndNestedFormsGiveTheSameConfig() {
        TrainConfig flat = load(dir, """
                base_model: models/sd15.safetensors
                train_data_dir: data
                lora_rank: 16
                lora_alpha: 8
                learning_rate: 2e-4
                batch_size: 4
                resolution: 768
                output_dir: out
                sample_prompts: [a cat]
                """).config();
        TrainConfig nested = load(dir, """
                model_config:
                  base_model: models/sd15.safetensors
                lora_config:
                  lora_rank: 16
                  lora_alpha: 8
                train_config:
                  learning_rate: 2e-4
                  batch_size: 4
                data_config:
                  train_data_dir: data
                  resolution: 768
                output_config:
                  output_dir: out
                sample_config:
                  sample_prompts:
                    - a cat
                """).config();
        assertEquals(flat, nested);
        assertEquals(16, nested.lora().rank());
        assertEquals(0.5, nested.lora().scale());
        assertEquals(4, nested.loop().batchSize());
        assertEquals(Resolution.square(768), nested.image().resolution());
    }

    @Test void keysMayBeMixedAcrossSectionsAndTopLevel() {
        TrainConfig c = load(dir, """
                base_model: builtin:tiny-sd
                train_config:
                  train_data_dir: data   # a data key in the train section is fine
                  lora_rank: 4
                output_config:
                  learning_rate: 3e-4
                """).config();
        assertEquals(4, c.lora().rank());
        assertEquals(3e-4, c.optimizer().learningRate());
    }

    @Test void scientificNotationIsAFloat() {
        assertEquals(1e-4, load(dir, MINIMAL + "learning_rate: 1e-4\n").config().optimizer().learningRate());
        assertEquals(2e-6, load(dir, MINIMAL + "learning_rate: 2e-6\n").config().optimizer().learningRate());
        assertEquals(1e-4, load(dir, MINIMAL + "learning_rate: 1.0e-4\n").config().optimizer().learningRate());
        assertEquals(5e-5, load(dir, MINIMAL + "learning_rate: \"5e-5\"\n").config().optimizer().learningRate());
        assertEquals(1e-6, load(dir, MINIMAL + "adam_epsilon: 1E-6\n").config().optimizer().epsilon());
        assertEquals(1000, load(dir, MINIMAL + "max_steps: 1e3\n").config().loop().maxSteps());
    }

    @Test void defaults() {
        TrainConfig c = load(dir, MINIMAL).config();
        assertEquals(TaskType.IMAGE_GENERATION, c.taskType());
        assertEquals(8, c.lora().rank());
        assertEquals(8.0, c.lora().alpha(), "alpha defaults to rank");
        assertEquals(0.0, c.lora().dropout());
        assertEquals(Resolution.square(512), c.image().resolution());
        assertEquals(1, c.loop().batchSize());
        assertEquals(1e-4, c.optimizer().learningRate());
        assertEquals(1e-4, c.optimizer().unetLr(), "unet_lr defaults to learning_rate");
        assertEquals(LrScheduler.COSINE, c.schedule().scheduler());
        assertEquals(10, c.loop().epochs());
        assertEquals(MixedPrecision.NO, c.loop().mixedPrecision());
        assertEquals(42L, c.sample().seed(), "sample_seed defaults to seed");
        assertEquals(dir.resolve("output"), c.output().outputDir());
        assertEquals("output", c.output().outputName(), "output_name defaults to output_dir's folder name");
        assertEquals(List.of("q_proj", "k_proj", "v_proj", "o_proj"), c.lora().targetModules());
        assertEquals("auto", c.loop().device());
        assertTrue(c.image().buckets().enabled());
        assertEquals(List.of(), load(dir, MINIMAL).warnings());
    }

    @Test void outputNameIsTheFolderNameOfOutputDir() {
        assertEquals("my_style_lora", load(dir, MINIMAL + "output_dir: ./output/my_style_lora\n").config().output().outputName());
        assertEquals("my_style_lora", load(dir, MINIMAL + "output_dir: output/my_style_lora/\n").config().output().outputName(),
                "a trailing slash changes nothing");
        assertEquals(dir.getFileName().toString(), load(dir, MINIMAL + "output_dir: .\n").config().output().outputName(),
                "'.' is the config's folder, by its name");
        assertEquals("mine", load(dir, MINIMAL + "output_dir: ./output/my_style_lora\noutput_name: mine\n").config().output().outputName(),
                "a set output_name wins");
        assertEquals("lora", load(dir, MINIMAL + "output_dir: /\n").config().output().outputName(), "the root has no name");
        assertEquals("from_cli", load(dir, MINIMAL + "output_dir: out/a\n", "output_dir=runs/from_cli").config().output().outputName(),
                "follows output_dir set by --set");
    }

    @Test void outputNameDerivedIsShownAsTheDefaultInTheDryRun() {
        java.io.StringWriter text = new java.io.StringWriter();
        ConfigPrinter.print(load(dir, MINIMAL + "output_dir: out/my_style_lora\n"), new java.io.PrintWriter(text));
        assertTrue(text.toString().contains("\n    output_name                  my_style_lora   (output_dir's folder name)\n"), text.toString());
        assertTrue(text.toString().contains("\n    cache_text_encoder_outputs_to_disk  false\n"), "a key longer than the column keeps two spaces: " + text);
        text.getBuffer().setLength(0);
        ConfigPrinter.print(load(dir, MINIMAL + "output_dir: out/my_style_lora\noutput_name: my_style_lora\n"), new java.io.PrintWriter(text));
        assertTrue(text.toString().contains("\n    output_name                  my_style_lora"), "the same name set explicitly is no change: " + text);
    }

    @Test void aliasesAndLegacyKeys() {
        TrainConfig c = load(dir, MINIMAL + """
                warmup_steps: 50
                network_dim: 32
                network_alpha: 16
                train_batch_size: 2
                learning_rate: 2e-4
                use_fp16: true
                optimizer: AdamW
                lr_scheduler: Cosine_With_Restarts
                """).config();
        assertEquals(50, c.schedule().warmupSteps());
        assertEquals(32, c.lora().rank());
        assertEquals(16.0, c.lora().alpha());
        assertEquals(2, c.loop().batchSize());
        assertEquals(MixedPrecision.FP16, c.loop().mixedPrecision(), "use_fp16: true means fp16");
        assertEquals(OptimizerType.ADAMW, c.optimizer().type());
        assertEquals(LrScheduler.COSINE_WITH_RESTARTS, c.schedule().scheduler());
    }

    @Test void valueForms() {
        TrainConfig c = load(dir, MINIMAL + """
                resolution: "768,512"
                device: cuda:1
                flip_aug: yes
                cache_latents: false
                min_bucket_reso: 256
                """).config();
        assertEquals(new Resolution(768, 512), c.image().resolution());
        assertEquals("cuda:1", c.loop().device());
        assertTrue(c.image().flipAug());
        assertEquals(new Resolution(640, 448), load(dir, MINIMAL + "resolution: [640, 448]\n").config().image().resolution());
        TrainConfig t = load(dir, """
                task_type: text-generation
                base_model: builtin:tiny-llama
                train_data_dir: data.txt
                target_modules: q_proj, v_proj
                """).config();
        assertEquals(List.of("q_proj", "v_proj"), t.lora().targetModules());
        assertEquals(List.of("all-linear"), load(dir, """
                task_type: text-generation
                base_model: builtin:tiny-llama
                train_data_dir: data.txt
                target_modules: all-linear
                """).config().lora().targetModules());
    }

    @Test void nullValueKeepsTheDefault() {
        // an explicit null is "use the default"; `lora_rank:` with nothing is an error (ConfigEmptyValueTest)
        TrainConfig c = load(dir, MINIMAL + "lora_rank: ~\nnetwork_weights: null\n").config();
        assertEquals(8, c.lora().rank());
        assertTrue(c.model().networkWeights().isEmpty());
    }

    @Test void relativePathsResolveAgainstTheConfigFolderEvenWithSpacesAndChinese() throws Exception {
        Path folder = dir.resolve("我的 训练/config dir");
        Files.createDirectories(folder);
        Path file = ConfigTestFiles.write(folder, "风格 lora.yaml", """
                base_model: models/模型 v1.safetensors
                train_data_dir: 图片 数据
                metadata_path: 图片 数据/metadata.csv
                output_dir: ../输出
                val_data_dir: /abs/val
                network_weights: ./prev lora.safetensors
                """);
        TrainConfig c = ConfigLoader.load(file, List.of()).config();
        assertEquals(new BaseModel.Local(folder.resolve("models/模型 v1.safetensors")), c.model().baseModel());
        assertEquals(folder.resolve("图片 数据"), c.data().trainDataDir());
        assertEquals(folder.resolve("图片 数据/metadata.csv"), c.data().metadataPath().orElseThrow());
        assertEquals(dir.resolve("我的 训练/输出"), c.output().outputDir());
        assertEquals(Path.of("/abs/val"), c.data().valDataDir().orElseThrow());
        assertEquals(folder.resolve("prev lora.safetensors"), c.model().networkWeights().orElseThrow());
        assertTrue(c.data().trainDataDir().isAbsolute());
    }

    @Test void builtinModelsAreNotPaths() {
        assertEquals(new BaseModel.Builtin("tiny-sd"), load(dir, MINIMAL).config().model().baseModel());
    }

    @Test void overridesWinAndAreTypeChecked() {
        LoadedConfig l = load(dir, MINIMAL + "learning_rate: 1e-4\nbatch_size: 1\n",
                "learning_rate=3e-4", "batch_size=4", "train_config.epochs=5", "batch_size=2",
                "sample_prompts=[a cat, a dog]", "lora_alpha=");
        TrainConfig c = l.config();
        assertEquals(3e-4, c.optimizer().learningRate());
        assertEquals(2, c.loop().batchSize(), "the last --set wins");
        assertEquals(5, c.loop().epochs());
        assertEquals(List.of("a cat", "a dog"), c.sample().prompts());
        assertEquals(Origin.override("batch_size=2"), l.values().origin("batch_size"));
        assertEquals(List.of("one, with a comma"),
                load(dir, MINIMAL, "sample_prompts=one, with a comma").config().sample().prompts());
    }

    @Test void overridePathsAreRelativeToTheWorkingDirectory() {
        TrainConfig c = load(dir, MINIMAL, "output_dir=somewhere").config();
        assertEquals(Path.of("somewhere").toAbsolutePath().normalize(), c.output().outputDir());
    }

    @Test void configFromCode() {
        TrainConfig c = TrainConfig.of(Map.of("base_model", "builtin:tiny-llama", "task_type", TaskType.TEXT_GENERATION,
                "train_data_dir", dir.toString(), "lora_rank", 4, "target_modules", List.of("q_proj")));
        assertEquals(4, c.lora().rank());
        assertEquals(List.of("q_proj"), c.lora().targetModules());
        assertFalse(c.isImage());
    }
}
