package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

class CliMergeCommandTest {
    @TempDir static Path dir;
    static Path base, adapter;
    static final long[] IDS = {376, 40, 50, 60, 70, 80, 90, 100, 7, 9};

    @BeforeAll static void adapter() throws Exception {
        base = TinyLlamaBuiltin.ensureCached();
        adapter = PeftAdapterFixture.write(base, dir.resolve("adapter"), n -> true, 0.3, 11);
    }

    private static CliTrainCommandTest.Run merge(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "merge";
        System.arraycopy(args, 0, all, 1, args.length);
        return CliTrainCommandTest.run(Main.newCommandLine(), all);
    }

    private static float[] logits(LlamaForCausalLM m) {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            return m.logits(Torch.of(IDS, 1, IDS.length), null, null).toFloatArray();
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    @Test void theMergedModelComputesBasePlusAdapter() throws Exception {
        Path out = dir.resolve("merged");
        var r = merge("--base", "builtin:tiny-llama", "--lora", adapter.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("merged " + adapter + " into builtin:tiny-llama: " + out + "\n", r.out());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        float[] adapted, plain, merged;
        try (LlamaForCausalLM m = LlamaForCausalLM.load(base, Device.CPU, DType.F32)) {
            plain = logits(m);
            try (LoraNetwork net = PeftAdapterReader.attach(adapter, m.loraHosts(), Device.CPU)) {
                adapted = logits(m);
            }
        }
        try (LlamaForCausalLM m = LlamaForCausalLM.load(out, Device.CPU, DType.F32)) {
            merged = logits(m);
        }
        double d = maxAbsDiff(adapted, merged);
        System.out.printf("merged vs base+adapter: logits max abs diff %.3g (adapter moved them by %.3g)%n", d, maxAbsDiff(adapted, plain));
        // the builtin stores fp16 weights and the merge keeps each tensor's stored dtype: W + BA rounds to fp16
        assertTrue(d < 1e-3 * maxAbsDiff(adapted, plain), "merged logits differ by " + d);
        assertTrue(maxAbsDiff(adapted, plain) > 1e-2, "the adapter matters");
    }

    @Test void anExistingOutputNeedsForce() throws Exception {
        Path out = Files.createDirectories(dir.resolve("taken"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        var r = merge("--base", base.toString(), "--lora", adapter.toString(), "--output", out.toString());
        assertEquals(2, r.code());
        assertEquals("error: --output " + out + " already exists and is not empty; choose another folder or add --force to replace it\n", r.err());
        assertTrue(Files.exists(out.resolve("keep.txt")), "nothing was touched");
        r = merge("--base", base.toString(), "--lora", adapter.toString(), "--output", out.toString(), "--force");
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(out.resolve("keep.txt")), "replaced");
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }

    @Test void anAdapterForAnotherModelIsRefusedBeforeWriting() throws Exception {
        Path fixture = CliGenerateCommandTest.fixture("llama");
        Path otherShapes = PeftAdapterFixture.write(fixture, dir.resolve("other-shapes"), n -> n.startsWith("model.layers.0."), 0.1, 1);
        Path otherLayers = renamedLayers(PeftAdapterFixture.write(base, dir.resolve("other-layers"), n -> n.startsWith("model.layers.1."), 0.1, 1));
        Path out = dir.resolve("never");
        var r = merge("--base", "builtin:tiny-llama", "--lora", otherShapes.toString(), "--output", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + otherShapes + " adapts 'model.layers.0."), r.err());
        assertTrue(r.err().endsWith("; is this adapter for this base model (" + fixture + ")?\n"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        r = merge("--base", "builtin:tiny-llama", "--lora", otherLayers.toString(), "--output", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: " + otherLayers + " adapts 'model.layers.7."), r.err());
        assertTrue(r.err().contains("has no tensor model.layers.7."), r.err());
        assertFalse(Files.exists(out), "no output for a refused merge");
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".never")), "no temporary folder left");
        }
    }

    /** The same adapter for a deeper model: layer 1's weights under layer 7's names. */
    private static Path renamedLayers(Path adapterDir) throws Exception {
        Path file = adapterDir.resolve("adapter_model.safetensors");
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String k : f.names()) renamed.put(k.replace("layers.1.", "layers.7."), TensorIO.read(f, k));
        }
        TensorIO.save(file, renamed, Map.of("format", "pt"));
        renamed.values().forEach(Tensor::close);
        return adapterDir;
    }

    @Test void missingInputsAndHelp() {
        var r = merge("--base", "builtin:tiny-llama", "--lora", dir.resolve("none").toString(), "--output", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertEquals("error: " + dir.resolve("none") + ": no adapter_config.json; not a PEFT adapter folder\n", r.err());
        r = merge("--base", "builtin:tiny-llama");
        assertEquals(2, r.code(), "picocli's usage error for missing options");
        assertTrue(r.err().startsWith("error: missing required argument"), r.err());
        r = merge("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Examples:") && r.out().contains("./lora merge --base"), r.out());
    }
}
