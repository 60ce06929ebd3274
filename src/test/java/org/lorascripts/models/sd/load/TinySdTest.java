package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.tensor.DType;
import org.lorascripts.models.sd.SdFamily;

class TinySdTest {

    @Test
    void sameBytesEveryTime(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        TinySd.write(a);
        TinySd.write(b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        try (var ls = Files.list(dir)) {
            assertEquals(2, ls.count(), "no temporary files left behind");
        }
    }

    @Test
    void layoutAndMetadata(@TempDir Path dir) throws Exception {
        Path f = dir.resolve(TinySd.FILE_NAME);
        TinySd.write(f);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (TensorInfo t : sf.tensors()) {
                assertEquals(DType.F32, t.dtype(), t.name());
                assertTrue(t.name().startsWith("model.diffusion_model.") || t.name().startsWith("first_stage_model.")
                        || t.name().startsWith("cond_stage_model.transformer.text_model."), t.name());
            }
            assertArrayEquals(new long[] {49408, 32}, sf.info("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight").shape());
            assertArrayEquals(new long[] {77, 32}, sf.info("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight").shape());
            assertArrayEquals(new long[] {37, 32}, sf.info("cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc1.weight").shape());
            assertArrayEquals(new long[] {64, 64, 1, 1}, sf.info("first_stage_model.encoder.mid.attn_1.q.weight").shape());
            assertArrayEquals(new long[] {32, 32, 1, 1}, sf.info("model.diffusion_model.input_blocks.1.1.proj_in.weight").shape());
            assertTrue(sf.metadata().get("text_encoder_config").contains("\"hidden_act\": \"quick_gelu\""));
            assertNotNull(sf.metadata().get("unet_config"));
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(f)) {
            assertEquals(SdFamily.SD1, c.family());
            assertEquals(TinySd.unetConfig(), c.unetConfig());
            assertEquals(TinySd.vaeConfig(), c.vaeConfig());
            assertEquals(TextEncoderSlot.Layout.HF_CLIP, c.textEncoder().layout());
            assertEquals("cond_stage_model.transformer.", c.textEncoder().prefix());
            assertTrue(c.textEncoder().hfWeights().shape("text_model.final_layer_norm.weight").isPresent());
        }
    }
}
