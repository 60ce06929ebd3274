package org.lorascripts.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which files of real repositories' listings are fetched (file names as they are on the Hub). */
class FileSelectionTest {
    /** stabilityai/stable-diffusion-xl-base-1.0's files, shortened to the kinds that matter. */
    static final List<String> SDXL = List.of(".gitattributes", "LICENSE.md", "README.md", "model_index.json", "sd_xl_base_1.0.safetensors",
            "sd_xl_offset_example-lora_1.0.safetensors", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors", "text_encoder/openvino_model.bin",
            "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors", "text_encoder_2/model.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
            "unet/openvino_model.bin", "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
            "vae/diffusion_pytorch_model.safetensors", "vae_1_0/config.json", "vae_decoder/model.onnx", "vae/diffusion_flax_model.msgpack");

    @Test
    void aDiffusersRepositoryGetsItsComponentsNotItsSingleFiles() {
        List<String> got = FileSelection.AUTO.select("s/x", SDXL);
        assertEquals(List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.safetensors",
                "text_encoder_2/config.json", "text_encoder_2/model.safetensors", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
                "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                "vae/config.json", "vae/diffusion_pytorch_model.safetensors"), got);
        List<String> fp16 = FileSelection.variant("fp16").select("s/x", SDXL);
        assertTrue(fp16.contains("unet/diffusion_pytorch_model.fp16.safetensors") && !fp16.contains("unet/diffusion_pytorch_model.safetensors"), fp16.toString());
        assertTrue(fp16.contains("text_encoder_2/model.fp16.safetensors"), fp16.toString());
    }

    @Test
    void aShardedTransformersModelGetsShardsIndexAndTokenizer() {
        List<String> llama = List.of("config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "original/consolidated.00.pth", "original/params.json", "pytorch_model.bin",
                "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "README.md", "USE_POLICY.md");
        assertEquals(List.of("config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"),
                FileSelection.AUTO.select("m/l", llama));
    }

    @Test
    void picklesOnlyIsRefusedAndSeveralCheckpointsMustBeNamed() {
        HubException pickles = assertThrows(HubException.class,
                () -> FileSelection.AUTO.select("old/model", List.of("config.json", "pytorch_model.bin", "vocab.txt")));
        assertEquals("old/model has no .safetensors weights, only pickles (pytorch_model.bin), which lora-scripts never loads:"
                + " choose a repository with .safetensors files, or convert the weights first", pickles.getMessage());
        HubException two = assertThrows(HubException.class, () -> FileSelection.AUTO.select("r/sd15",
                List.of("v1-5-pruned.safetensors", "v1-5-pruned-emaonly.safetensors", "v1-inference.yaml")));
        assertTrue(two.getMessage().startsWith("r/sd15 holds several checkpoint files; name one as r/sd15/FILE"), two.getMessage());
        assertEquals(Optional.of("style.safetensors"), FileSelection.singleCheckpoint(FileSelection.AUTO.select("u/lora",
                List.of("README.md", "style.safetensors", "preview.png"))));
        assertEquals(Optional.empty(), FileSelection.singleCheckpoint(List.of("adapter_config.json", "adapter_model.safetensors")));
    }

    @Test
    void includeGlobsAreExact() {
        assertEquals(List.of("model.onnx", "selected_tags.csv"), FileSelection.files("model.onnx", "selected_tags.csv")
                .select("SmilingWolf/wd", List.of("keras_metadata.pb", "model.onnx", "saved_model.pb", "selected_tags.csv", "variables/variables.index")));
        HubException none = assertThrows(HubException.class, () -> FileSelection.files("*.gguf").select("a/b", List.of("x.safetensors")));
        assertEquals("a/b has no file matching *.gguf (its files: x.safetensors)", none.getMessage());
    }
}
