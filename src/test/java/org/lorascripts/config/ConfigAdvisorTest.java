package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigAdvisorTest {
    @TempDir Path dir;

    private static final String SD = """
            base_model: models/sd15.safetensors
            train_data_dir: data
            """;
    private static final String TEXT = """
            task_type: text-generation
            base_model: builtin:tiny-llama
            train_data_dir: data.txt
            """;

    private List<String> warnings(String yaml, String... overrides) {
        return load(dir, yaml, overrides).warnings().stream().map(ConfigWarning::message).toList();
    }

    private static List<String> keys(List<ConfigWarning> ws) {
        return ws.stream().map(ConfigWarning::key).toList();
    }

    @Test void saneValuesGiveNoWarnings() {
        assertEquals(List.of(), warnings(SD + "learning_rate: 2e-4\nbatch_size: 4\nlora_rank: 16\nlora_alpha: 32\n"));
        assertEquals(List.of(), warnings(TEXT + "learning_rate: 5e-5\nlora_rank: 16\nlora_alpha: 32\n"));
    }

    @Test void learningRateTooLowOrTooHigh() {
        assertEquals(List.of("learning_rate 5e-6 is very low: training will barely move; 1e-4..3e-4 is typical for image"
                + " LoRA, 5e-5..1e-4 for text"), warnings(SD + "learning_rate: 5e-6\n"));
        assertEquals(List.of("learning_rate 0.002 is likely to diverge (loss goes NaN, outputs turn to noise);"
                + " 1e-4..3e-4 is typical for image LoRA, 5e-5..1e-4 for text"), warnings(SD + "learning_rate: 0.002\n"));
        assertEquals(List.of(), warnings(SD + "learning_rate: 1e-5\n"));
        assertEquals(List.of(), warnings(SD + "learning_rate: 1e-3\n"));
        assertEquals(List.of(), warnings(TEXT + "learning_rate: 3e-3\n"), "the tiny built-in models train at such rates");
    }

    @Test void alphaAboveTwiceRank() {
        assertEquals(List.of("lora_alpha 64.0 is more than 2x lora_rank 8: updates are scaled by alpha/rank = 8.0, which"
                + " often overshoots; alpha = rank (or rank/2) is typical"), warnings(SD + "lora_alpha: 64\n"));
        assertEquals(List.of(), warnings(TEXT + "lora_alpha: 64\nuse_rslora: true\n"), "rsLoRA scales by sqrt(rank)");
    }

    @Test void largerBatchWithTheDefaultLearningRate() {
        assertEquals(List.of("effective batch size 8 with the default learning_rate 1e-4 (tuned for batch 1): larger"
                + " batches usually take a larger rate, e.g. 2.8e-4 (sqrt scaling) to 8e-4 (linear); set learning_rate"
                + " explicitly"), warnings(SD + "batch_size: 4\ngradient_accumulation_steps: 2\n"));
        assertEquals(List.of(), warnings(SD + "batch_size: 4\nlearning_rate: 1e-4\n"), "an explicit rate is a choice");
    }

    @Test void fp16OnCpu() {
        assertEquals(List.of("mixed_precision fp16 is not supported on device cpu; training will run in fp32 (use bf16"
                + " or no on CPU)"), warnings(SD + "device: cpu\nuse_fp16: true\n"));
        assertEquals(List.of(), warnings(SD + "device: cpu\nmixed_precision: bf16\n"));
    }

    @Test void gradientCheckpointingOnTinyModels() {
        assertEquals(List.of("gradient_checkpointing costs ~30% speed and the builtin tiny models fit in memory at"
                + " batch_size 1; it is only needed for large models"), warnings(TEXT + "gradient_checkpointing: true\n"));
        assertEquals(List.of(), warnings(SD + "gradient_checkpointing: true\n"));
    }

    @Test void recomputeAttentionUnderGradientCheckpointing() {
        assertEquals(List.of("recompute_attention has no effect with gradient_checkpointing: true (every layer runs again in"
                + " backward there); set one of them"), warnings(TEXT + "recompute_attention: true\ngradient_checkpointing: true\nbatch_size: 2\nlearning_rate: 1e-4\n"));
        assertEquals(List.of(), warnings(TEXT + "recompute_attention: true\n"));
        assertEquals(List.of("recompute_attention applies to text-generation only; ignored for this image-generation config"),
                warnings(SD + "recompute_attention: true\n"));
    }

    @Test void keysOfTheOtherTaskAreIgnoredWithAWarning() {
        assertEquals(List.of("clip_skip applies to image-generation only; ignored for this text-generation config"),
                warnings(TEXT + "clip_skip: 2\n"));
        assertEquals(List.of("target_modules applies to text-generation only; ignored for this image-generation config"),
                warnings(SD + "target_modules: [q_proj]\n"));
    }

    @Test void resolutionNotMultipleOf64AndOtherHints() {
        assertEquals(List.of("resolution 520 is not a multiple of 64; SD models train best at multiples of 64 (e.g. 512"
                + " or 768)"), warnings(SD + "resolution: 520\n"));
        assertEquals(List.of("lr_warmup_steps has no effect with lr_scheduler constant; use constant_with_warmup"),
                warnings(SD + "lr_scheduler: constant\nwarmup_steps: 10\n"));
        assertEquals(List.of("early_stopping_patience needs validation data; set val_ratio (e.g. 0.1) or val_data_dir"),
                warnings(SD + "early_stopping_patience: 3\n"));
        assertEquals(List.of("sample_every_n_steps is set but there are no sample_prompts; nothing will be sampled"),
                warnings(SD + "sample_every_n_steps: 100\n"));
        assertEquals(List.of("text_encoder_lr has no effect while train_text_encoder is false"),
                warnings(SD + "text_encoder_lr: 5e-5\n"));
        assertEquals(List.of("cache_text_encoder_outputs_to_disk has no effect while train_text_encoder is true (the outputs change as the"
                + " encoders train)"), warnings(SD + "cache_text_encoder_outputs_to_disk: true\ntrain_text_encoder: true\n"));
        assertEquals(List.of("cache_text_encoder_outputs_to_disk has no effect while captions change from step to step (caption_dropout_rate,"
                + " shuffle_caption)"), warnings(SD + "cache_text_encoder_outputs_to_disk: true\nshuffle_caption: true\n"));
        assertEquals(List.of(), warnings(SD + "cache_text_encoder_outputs_to_disk: true\n"));
    }

    @Test void highRankOnASmallDataset() {
        TrainConfig c = load(dir, SD + "lora_rank: 64\nlora_alpha: 64\n").config();
        assertEquals(List.of("lora_rank 64 is high for 40 training images: it overfits small datasets; 4-16 is typical"
                + " below ~100 images"), ConfigAdvisor.forDataset(c, 40).stream().map(ConfigWarning::message).toList());
        assertEquals(List.of(), ConfigAdvisor.forDataset(c, 150));
    }

    @Test void epochsFarAboveGuidance() {
        TrainConfig c = load(dir, SD + "epochs: 100\n").config();
        assertEquals(List.of("each training example would be seen ~100 times, but 10-20 epochs is typical for 80 images;"
                + " expect overfitting (outputs copy the training data): lower epochs or max_steps"),
                ConfigAdvisor.forDataset(c, 80).stream().map(ConfigWarning::message).toList());
        assertEquals(List.of(), ConfigAdvisor.forDataset(load(dir, SD + "epochs: 60\n").config(), 80), "3x guidance is the limit");
        assertEquals(List.of("epochs"), keys(ConfigAdvisor.forDataset(load(dir, SD + "epochs: 31\n").config(), 300)));
        assertEquals(List.of(), ConfigAdvisor.forDataset(load(dir, SD + "epochs: 15\n").config(), 300));
        // max_steps counts too: 3000 steps x batch 1 over 50 images = 60 passes (limit 60)
        assertEquals(List.of(), ConfigAdvisor.forDataset(load(dir, SD + "max_steps: 3000\n").config(), 50));
        assertEquals(List.of("epochs"), keys(ConfigAdvisor.forDataset(load(dir, SD + "max_steps: 3100\n").config(), 50)));
    }

    @Test void warmupLongerThanTheRunAndBatchLargerThanTheData() {
        TrainConfig c = load(dir, SD + "warmup_steps: 100\nepochs: 2\nbatch_size: 8\nlearning_rate: 2e-4\n").config();
        List<ConfigWarning> w = ConfigAdvisor.forDataset(c, 5);
        assertEquals(List.of("lr_warmup_steps", "batch_size"), keys(w));
        assertEquals("lr_warmup_steps 100 >= total steps 2: warm-up is cut to the run, so the learning rate reaches its target only at the last step; ~5-10% of total"
                + " steps is typical", w.get(0).message());
        assertEquals("batch_size 8 is larger than the 5 training images; every batch will be partial", w.get(1).message());
    }

    @Test void guidanceTable() {
        assertEquals(10, ConfigAdvisor.guidanceEpochs(TaskType.IMAGE_GENERATION, 100)[0]);
        assertEquals(20, ConfigAdvisor.guidanceEpochs(TaskType.IMAGE_GENERATION, 50)[1]);
        assertEquals(10, ConfigAdvisor.guidanceEpochs(TaskType.IMAGE_GENERATION, 500)[1]);
        assertTrue(ConfigAdvisor.guidanceEpochs(TaskType.IMAGE_GENERATION, 10)[1] > 20, "tiny sets need more passes");
    }
}
