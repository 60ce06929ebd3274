package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * text_encoder_lr is one number (every text encoder) or, as kohya's {@code --text_encoder_lr} with
 * two values, a list [TE1, TE2] for SDXL's two encoders; in the file and with {@code --set}.
 */
class ConfigTextEncoderLrTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\nlearning_rate: 1e-4\n";

    private TrainConfig.Optimizer optimizer(String yaml, String... overrides) {
        return load(dir, MINIMAL + yaml, overrides).config().optimizer();
    }

    @Test void oneNumberServesBothEncoders() {
        TrainConfig.Optimizer o = optimizer("text_encoder_lr: 1e-5\n");
        assertEquals(List.of(1e-5), o.textEncoderLrs());
        assertEquals(1e-5, o.textEncoderLr());
        assertEquals(1e-5, o.textEncoderLr(1));
        assertEquals(1e-5, o.textEncoderLr(2));
        assertEquals(List.of(1e-5), optimizer("text_encoder_lr: [1e-5]\n").textEncoderLrs(), "a list of one is one number");
    }

    @Test void twoNumbersAreTe1AndTe2() {
        TrainConfig.Optimizer o = optimizer("text_encoder_lr: [1e-5, 5e-6]\n");
        assertEquals(List.of(1e-5, 5e-6), o.textEncoderLrs());
        assertEquals(1e-5, o.textEncoderLr(1));
        assertEquals(5e-6, o.textEncoderLr(2));
        assertEquals(List.of(1e-5, 5e-6), optimizer("text_encoder_lr:\n  - 1e-5\n  - 5e-6\n").textEncoderLrs(), "block list");
    }

    @Test void unsetItIsTheLearningRate() {
        TrainConfig.Optimizer o = optimizer("");
        assertEquals(List.of(1e-4), o.textEncoderLrs());
        assertEquals(1e-4, o.textEncoderLr(2));
    }

    @Test void setOverridesTakeANumberOrAList() {
        assertEquals(List.of(1e-5, 5e-6), optimizer("text_encoder_lr: 3e-5\n", "text_encoder_lr=[1e-5,5e-6]").textEncoderLrs());
        assertEquals(List.of(2e-5), optimizer("text_encoder_lr: [1e-5, 5e-6]\n", "text_encoder_lr=2e-5").textEncoderLrs());
        assertEquals(List.of(1e-5, 5e-6), optimizer("", "train_config.text_encoder_lr=[1e-5, 5e-6]").textEncoderLrs());
    }

    @Test void badValuesAreOneLineErrorsNamingTheKey() {
        String expect = "text_encoder_lr must be a number > 0 or a list of 1 to 2 such numbers, got ";
        assertEquals("my.yaml:4: " + expect + "a list of 3", error(dir, MINIMAL + "text_encoder_lr: [1e-5, 5e-6, 1e-6]\n"));
        assertEquals("my.yaml:4: " + expect + "a list of 0", error(dir, MINIMAL + "text_encoder_lr: []\n"));
        assertEquals("my.yaml:4: " + expect + "an item '0'", error(dir, MINIMAL + "text_encoder_lr: [1e-5, 0]\n"));
        assertEquals("my.yaml:4: " + expect + "an item '-5e-6'", error(dir, MINIMAL + "text_encoder_lr: [1e-5, -5e-6]\n"));
        assertEquals("my.yaml:4: " + expect + "an item 'fast'", error(dir, MINIMAL + "text_encoder_lr: [1e-5, fast]\n"));
        assertEquals("my.yaml:4: " + expect + "an item a list", error(dir, MINIMAL + "text_encoder_lr: [[1e-5], 5e-6]\n"));
        assertEquals("my.yaml:4: " + expect + "'-1e-5'", error(dir, MINIMAL + "text_encoder_lr: -1e-5\n"));
        assertEquals("my.yaml:4: " + expect + "a mapping", error(dir, MINIMAL + "text_encoder_lr: {te1: 1e-5}\n"));
        assertEquals("--set text_encoder_lr=[1e-5,5e-6,1e-6]: " + expect + "a list of 3",
                error(dir, MINIMAL, "text_encoder_lr=[1e-5,5e-6,1e-6]"));
    }

    @Test void shownAsWritten() {
        assertEquals("[1e-5, 5e-6]", ValueText.format(List.of(1e-5, 5e-6), ValueKind.NUMBER_LIST));
        ConfigKey k = ConfigKeys.get("text_encoder_lr");
        assertEquals("= learning_rate", k.defaultText());
        assertEquals("number or list", k.kind().label());
    }
}
