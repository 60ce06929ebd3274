package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.gguf.GgufHeader;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.tensor.Tensor;

/**
 * {@code ./lora export --format gguf}: a PEFT adapter on builtin:tiny-llama (4 heads, 2 KV heads, head_dim 32) as a
 * llama.cpp LoRA adapter. Checked: llama.cpp's metadata keys, tensor names and shapes (lora_a (r, in), lora_b (out, r)
 * in PyTorch order), A unchanged, v's B unchanged, q's and k's B rows permuted as convert_hf_to_gguf.py's
 * LlamaModel.permute (written out here as an index formula), and {@code ./lora info} on the result.
 * The file this test writes was also read with the gguf package's GGUFReader
 * ({@code /tmp/ptenv/bin/python3 tools/gguf_reference.py read x.gguf}): it lists general.architecture = llama,
 * general.type = adapter, adapter.type = lora, adapter.lora.alpha = 8.0 and 32 tensors such as
 * {@code blk.0.attn_q.weight.lora_a F32 [4, 128]} / {@code blk.0.attn_q.weight.lora_b F32 [128, 4]}.
 */
class CliExportCommandTest {
    @TempDir Path dir;

    @Test
    void peftAdapterAsLlamaCppGguf() throws Exception {
        Path model = LlmModelFolder.resolve("builtin:tiny-llama").dir();
        Path adapter = PeftAdapterFixture.write(model, dir.resolve("adapter"),
                n -> n.endsWith("q_proj") || n.endsWith("k_proj") || n.endsWith("v_proj") || n.endsWith("down_proj"), 0.5, 3);
        Path out = dir.resolve("x.gguf");
        var r = CliTrainCommandTest.run(Main.newCommandLine(), "export", "--format", "gguf", "--lora", adapter.toString(), "--base",
                "builtin:tiny-llama", "--outtype", "f32", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("exported 16 modules"), r.out());
        GgufHeader h = GgufHeader.read(out);
        assertEquals("llama", h.metadata().get("general.architecture"));
        assertEquals("adapter", h.metadata().get("general.type"));
        assertEquals("lora", h.metadata().get("adapter.type"));
        assertEquals(8.0, h.metadata().get("adapter.lora.alpha"));
        assertEquals(32, h.tensors().size());
        Map<String, GgufHeader.Info> byName = new java.util.HashMap<>();
        for (GgufHeader.Info t : h.tensors()) byName.put(t.name(), t);
        try (SafetensorsFile peft = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            for (int layer : new int[] {0, 3}) {
                String hf = "base_model.model.model.layers." + layer + ".";
                assertRows(h, out, byName.get("blk." + layer + ".attn_q.weight.lora_a"), peft, hf + "self_attn.q_proj.lora_A.weight", 0);
                assertRows(h, out, byName.get("blk." + layer + ".attn_q.weight.lora_b"), peft, hf + "self_attn.q_proj.lora_B.weight", 4);
                assertRows(h, out, byName.get("blk." + layer + ".attn_k.weight.lora_b"), peft, hf + "self_attn.k_proj.lora_B.weight", 2);
                assertRows(h, out, byName.get("blk." + layer + ".attn_v.weight.lora_b"), peft, hf + "self_attn.v_proj.lora_B.weight", 0);
                assertRows(h, out, byName.get("blk." + layer + ".ffn_down.weight.lora_a"), peft, hf + "mlp.down_proj.lora_A.weight", 0);
            }
        }
        assertArrayEquals(new long[] {4, 128}, byName.get("blk.0.attn_q.weight.lora_a").shape());
        assertArrayEquals(new long[] {64, 4}, byName.get("blk.0.attn_k.weight.lora_b").shape());

        var info = CliTrainCommandTest.run(Main.newCommandLine(), "info", out.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("gguf      version 3, adapter, architecture llama, 32 tensors"), info.out());
        assertTrue(info.out().contains("lora      16 modules: {rank 4=16}, alpha 8"), info.out());

        // f16 by default; a wrong format is one error line and writes nothing
        Path half = dir.resolve("half.gguf");
        assertEquals(0, CliTrainCommandTest.run(Main.newCommandLine(), "export", "--format", "gguf", "--lora", adapter.toString(), "--base",
                "builtin:tiny-llama", "-o", half.toString()).code());
        assertEquals("f16", GgufHeader.read(half).tensors().get(0).typeName());
        Path none = dir.resolve("none.gguf");
        var bad = CliTrainCommandTest.run(Main.newCommandLine(), "export", "--format", "onnx", "--lora", adapter.toString(), "--base",
                "builtin:tiny-llama", "-o", none.toString());
        assertEquals(2, bad.code());
        assertEquals("error: --format onnx is not supported; use gguf\n", bad.err());
        assertFalse(Files.exists(none));
    }

    /**
     * The GGUF tensor equals the PEFT tensor, with rows permuted as LlamaModel.permute when {@code heads > 0}:
     * per head of {@code d} rows, GGUF row {@code j·2 + k} is PEFT row {@code k·d/2 + j}.
     */
    private static void assertRows(GgufHeader h, Path file, GgufHeader.Info t, SafetensorsFile peft, String key, int heads) throws Exception {
        float[] want;
        long[] shape;
        try (Tensor p = TensorIO.read(peft, key)) {
            want = p.toFloatArray();
            shape = p.shape();
        }
        assertArrayEquals(shape, t.shape(), t.name());
        ByteBuffer data = ByteBuffer.wrap(GgufHeader.readData(file, h, t)).order(ByteOrder.LITTLE_ENDIAN);
        int rows = (int) shape[0], cols = (int) shape[1];
        for (int row = 0; row < rows; row++) {
            int src = row;
            if (heads > 0) {
                int d = rows / heads, head = row / d, within = row % d, j = within / 2, k = within % 2;
                src = head * d + k * (d / 2) + j;
            }
            for (int c = 0; c < cols; c++) {
                assertEquals(want[src * cols + c], data.getFloat((row * cols + c) * 4), 0f, t.name() + " row " + row);
            }
        }
    }
}
