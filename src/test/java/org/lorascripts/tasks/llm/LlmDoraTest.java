package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.TrainingException;

/** use_dora on builtin:tiny-llama: it learns, checkpointing changes nothing, the PEFT export reloads and continues. */
class LlmDoraTest {
    @TempDir Path dir;

    private LlmLoraFixture fixture(String name) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        return new LlmLoraFixture(dir.resolve(name), data).set("use_dora", true);
    }

    @Test void doraLearnsAndExportsPeftMagnitudeVectors() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 8).set("learning_rate", 3e-3).set("target_modules", List.of("all-linear"));
        long[] ids = {1, 40, 50, 60, 70, 80, 90, 100};
        float[] trained;
        Path adapter;
        Map<String, List<Double>> trainedWeights;
        try (LlmLoraTask task = f.task()) {
            assertTrue(task.adapters().values().stream().allMatch(a -> a.decomposition() == LoraAdapter.Decomposition.OUTPUT));
            assertEquals(3 * task.adapters().size(), task.trainableParameters().size(), "down, up and the magnitude");
            adapter = f.run(task).adapter();
            task.network().setTraining(false);
            trained = LlmLoraFixture.logits(task.model(), ids);
            trainedWeights = LlmLoraFixture.namedWeights(task);
        }
        double[] l = f.losses();
        double first = (l[0] + l[1] + l[2]) / 3, last = (l[l.length - 1] + l[l.length - 2] + l[l.length - 3]) / 3;
        System.out.printf("tiny-llama DoRA: loss %.4f -> %.4f over %d steps%n", first, last, l.length);
        assertTrue(last < first - 0.3, "loss " + first + " -> " + last);

        assertEquals(Json.node(true), Json.readObject(adapter.resolve("adapter_config.json")).get("use_dora"));
        try (SafetensorsFile sf = SafetensorsFile.open(adapter.resolve("adapter_model.safetensors"))) {
            String k = "base_model.model.model.layers.0.mlp.gate_proj.lora_magnitude_vector";
            assertTrue(sf.contains(k), sf.names().toString());
            assertArrayEquals(new long[] {sf.info("base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight").shape()[0]}, sf.info(k).shape());
            assertEquals(sf.names().size(), 3 * sf.names().stream().filter(n -> n.endsWith(".lora_magnitude_vector")).count());
        }
        try (LlamaForCausalLM plain = LlamaForCausalLM.load(TinyLlamaBuiltin.ensureCached(), Device.CPU, DType.F32);
             LoraNetwork net = PeftAdapterReader.attach(adapter, plain.loraHosts(), Device.CPU)) {
            double d = LlmLoraFixture.maxAbsDiff(trained, LlmLoraFixture.logits(plain, ids));
            assertTrue(d < 1e-5, "reloaded DoRA differs by " + d);
        }
        // network_weights continues with the magnitudes; a plain-LoRA config refuses the DoRA file
        LlmLoraFixture next = fixture("next").set("network_weights", adapter.toString());
        try (LlmLoraTask task = next.task()) {
            assertEquals(trainedWeights, LlmLoraFixture.namedWeights(task));
        }
        LlmLoraFixture plainCfg = fixture("plain").set("network_weights", adapter.toString()).set("use_dora", false);
        TrainingException e = assertThrows(TrainingException.class, () -> plainCfg.task().close());
        assertTrue(e.getMessage().contains("is a DoRA adapter; set use_dora: true to continue it"), e.getMessage());
    }

    /** Per-layer checkpointing recomputes the DoRA layers (dropout included) and changes no number. */
    @Test void gradientCheckpointingTrainsTheSameDoraSteps() throws Exception {
        double[][] losses = new double[2][];
        double[][] weights = new double[2][];
        for (int i = 0; i < 2; i++) {
            LlmLoraFixture f = fixture("out" + i).set("gradient_checkpointing", i == 1).set("lora_dropout", 0.1)
                    .set("max_steps", 4).set("learning_rate", 3e-3);
            try (LlmLoraTask task = f.task(DType.F64)) {
                f.run(task);
                losses[i] = f.losses();
                weights[i] = LlmLoraFixture.weights(task);
            }
        }
        assertArrayEquals(losses[0], losses[1], 1e-9);
        assertArrayEquals(weights[0], weights[1], 1e-9);
    }
}
