package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The shipped examples load without errors or warnings and say what their comments promise. */
class ConfigExamplesTest {
    private static LoadedConfig example(String name) {
        return ConfigLoader.load(Path.of("examples", name), List.of());
    }

    @ParameterizedTest
    @ValueSource(strings = {"quickstart.yaml", "quickstart-text.yaml", "quickstart-sdxl.yaml", "cyberpunk_style_sd15.yaml", "sdxl_style.yaml", "llm_domain_text.yaml"})
    void loadsWithoutWarnings(String name) {
        assertEquals(List.of(), example(name).warnings());
    }

    @Test void cyberpunkIsTheClassicRecipe() {
        TrainConfig c = example("cyberpunk_style_sd15.yaml").config();
        assertEquals(new BaseModel.Local(Path.of("examples/models/v1-5-pruned.safetensors").toAbsolutePath()),
                c.model().baseModel());
        assertEquals(8, c.lora().rank());
        assertEquals(8.0, c.lora().alpha());
        assertEquals(1e-4, c.optimizer().learningRate());
        assertEquals(4, c.loop().batchSize());
        assertEquals(MixedPrecision.FP16, c.loop().mixedPrecision());
        assertEquals(Resolution.square(512), c.image().resolution());
        assertEquals(LrScheduler.COSINE, c.schedule().scheduler());
        assertEquals(100, c.schedule().warmupSteps());
        assertEquals(15, c.loop().epochs());
        assertEquals(500, c.output().saveSteps());
        assertEquals(List.of(), ConfigAdvisor.forDataset(c, 100), "100 images is what it was written for");
    }

    @Test void llmDomainText() {
        TrainConfig c = example("llm_domain_text.yaml").config();
        assertEquals(TaskType.TEXT_GENERATION, c.taskType());
        assertEquals(16, c.lora().rank());
        assertEquals(32.0, c.lora().alpha());
        assertEquals(512, c.text().maxSeqLen());
        assertEquals(MixedPrecision.BF16, c.loop().mixedPrecision());
        assertEquals(List.of(), ConfigAdvisor.forDataset(c, 5000));
    }

    @Test void quickstartsFitTheirBundledData() {
        assertEquals(List.of(), ConfigAdvisor.forDataset(example("quickstart.yaml").config(), 8));
        assertEquals(List.of(), ConfigAdvisor.forDataset(example("quickstart-text.yaml").config(), 60));
    }
}
