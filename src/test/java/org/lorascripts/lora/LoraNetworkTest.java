package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.MissingWeightException;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.WeightShapeException;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

class LoraNetworkTest {

    @Test
    void freshAdapterChangesNothingAndMergeMatchesUnmerged() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(1), Device.CPU, DType.F64)) {
            Linear q = new Linear(w.pp("attn").pp("to_q"), 6, 5, true);
            Conv2d proj = new Conv2d(w.pp("proj_in"), 4, 3, 1, 1, 0, true);    // 1x1: counts as linear
            Conv2d conv = new Conv2d(w.pp("conv1"), 4, 3, 3, 1, 1, true);      // 3x3: LoCon only
            assertEquals(3, w.loraHosts().size());
            Rng.manualSeed(0);
            Tensor x = Torch.randn(new long[] {2, 6}, DType.F64, Device.CPU);
            Tensor img = Torch.randn(new long[] {1, 4, 5, 5}, DType.F64, Device.CPU);
            double[] base = q.forward(x).toDoubleArray();
            double[] baseConv = conv.forward(img).toDoubleArray();
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(2, 4, 0, 0, 0, false), Device.CPU)) {
                assertEquals(2, net.size(), "no adapter on the 3x3 conv without conv_rank");
                assertArrayEquals(new long[] {2, 4, 1, 1}, net.adapters().get("proj_in").down().shape());
                assertArrayEquals(base, q.forward(x).toDoubleArray(), 1e-12, "up starts at zero");
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.5);
                double[] withLora = q.forward(x).toDoubleArray();
                double[] withLoraConv = proj.forward(img).toDoubleArray();
                assertTrue(Math.abs(withLora[0] - base[0]) > 1e-6, "adapter now contributes");
                // scale = alpha / rank = 2: delta = 2 * up @ down
                LoraAdapter a = net.adapters().get("attn.to_q");
                assertEquals(2.0, a.scale());
                net.mergeIntoWeights();
                assertArrayEquals(withLora, q.forward(x).toDoubleArray(), 1e-10);
                assertArrayEquals(withLoraConv, proj.forward(img).toDoubleArray(), 1e-10);
            }
            try (LoraNetwork loco = LoraNetwork.inject(w.loraHosts(), n -> n.equals("conv1"), new LoraSpec(2, 2, 0, 3, 3, false), Device.CPU)) {
                assertArrayEquals(new long[] {3, 4, 3, 3}, loco.adapters().get("conv1").down().shape());
                assertArrayEquals(new long[] {3, 3, 1, 1}, loco.adapters().get("conv1").up().shape());
                for (LoraAdapter a : loco.adapters().values()) a.up().detach().normal_(0, 0.5);
                double[] withLoco = conv.forward(img).toDoubleArray();
                assertTrue(Math.abs(withLoco[0] - baseConv[0]) > 1e-6);
                loco.mergeIntoWeights();
                assertArrayEquals(withLoco, conv.forward(img).toDoubleArray(), 1e-10);
            }
        }
    }

    @Test
    void gradientsReachOnlyTheAdapter() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(2), Device.CPU, DType.F32)) {
            Linear l = new Linear(w.pp("fc"), 4, 4, false);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 2), Device.CPU)) {
                l.forward(Torch.randn(3, 4)).pow(2).sum().backward();
                assertEquals(2, net.trainableParameters().size());
                var scaled = net.trainableParameters(0.5, 0.5 * 16);  // LoRA+: up at 16x the down rate
                assertEquals("fc.lora_down.weight", scaled.get(0).name());
                assertEquals(0.5, scaled.get(0).lrScale());
                assertEquals("fc.lora_up.weight", scaled.get(1).name());
                assertEquals(8.0, scaled.get(1).lrScale());
                assertTrue(net.adapters().get("fc").up().grad() != null, "up gets a gradient");
                assertTrue(l.weight().grad() == null, "frozen weight gets none");
            }
        }
    }

    @Test
    void checkpointWeightsCheckShapesAndNames(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(f, Map.of("fc.weight", Torch.ones(3, 4)), Map.of());
        }
        try (SafetensorsFile file = SafetensorsFile.open(f);
             Weights w = new Weights(new CheckpointWeights(file, "m.safetensors"), Device.CPU, DType.F32)) {
            WeightShapeException e = assertThrows(WeightShapeException.class, () -> new Linear(w.pp("fc"), 5, 3, false));
            assertEquals("m.safetensors: fc.weight has shape [3, 4], expected [3, 5] for this model configuration", e.getMessage());
            MissingWeightException m = assertThrows(MissingWeightException.class, () -> new Linear(w.pp("fc"), 4, 3, true));
            assertTrue(m.getMessage().contains("missing tensor fc.bias [3]"), m.getMessage());
            Linear ok = new Linear(w.pp("fc"), 4, 3, false);
            assertArrayEquals(new float[] {4, 4, 4}, ok.forward(Torch.ones(1, 4)).toFloatArray());
        }
    }
}
