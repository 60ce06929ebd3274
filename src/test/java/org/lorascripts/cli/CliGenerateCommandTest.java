package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.tasks.llm.PromptCompleter;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.text.HfTokenizer;

class CliGenerateCommandTest {
    @TempDir static Path dir;
    static Path base, adapter;

    @BeforeAll static void adapter() throws Exception {
        base = TinyLlamaBuiltin.ensureCached();
        adapter = PeftAdapterFixture.write(base, dir.resolve("adapter"), n -> true, 0.5, 5);
    }

    private static CliTrainCommandTest.Run generate(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "generate";
        System.arraycopy(args, 0, all, 1, args.length);
        return CliTrainCommandTest.run(Main.newCommandLine(), all);
    }

    /** What the command should print: the same model, adapter and options, completed in-process. */
    private static String expected(boolean withAdapter, ChatFormat chat, String prompt, Generator.Options o) throws Exception {
        try (HfTokenizer tok = HfTokenizer.load(base); LlamaForCausalLM m = LlamaForCausalLM.load(base, Device.CPU, DType.F32);
             LoraNetwork net = withAdapter ? PeftAdapterReader.attach(adapter, m.loraHosts(), Device.CPU) : null) {
            return new PromptCompleter(m, tok, chat).complete(prompt, o).text();
        }
    }

    @Test void greedyWithAnAdapterPrintsTheCompletion() throws Exception {
        var r = generate("--base", "builtin:tiny-llama", "--lora", adapter.toString(), "--prompt", "Green tea", "--max-new-tokens", "12",
                "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        String want = expected(true, ChatFormat.NONE, "Green tea", Generator.Options.greedy(12));
        assertEquals(want + "\n", r.out());
        assertEquals("", r.err());
        assertNotEquals(expected(false, ChatFormat.NONE, "Green tea", Generator.Options.greedy(12)), want, "the adapter matters");
        assertEquals(r.out(), generate("--base", "builtin:tiny-llama", "--lora", adapter.toString(), "--prompt", "Green tea",
                "--max-new-tokens", "12", "--device", "cpu").out(), "greedy is deterministic");
    }

    @Test void seededSamplingWithChatAndAPromptFile() throws Exception {
        Path prompts = Files.write(dir.resolve("prompts.txt"), List.of("Hello", "", "What is tea?"));
        String[] args = {"--base", base.toString(), "--prompt-file", prompts.toString(), "--chat", "--temperature", "0.8",
                "--top-p", "0.9", "--top-k", "50", "--seed", "3", "--max-new-tokens", "8", "--device", "cpu"};
        var r = generate(args);
        assertEquals(0, r.code(), r.err());
        Generator.Options o = Generator.Options.sample(8, 0.8, 0.9, 50, 3);
        assertEquals("### Hello\n" + expected(false, ChatFormat.CHATML, "Hello", o) + "\n### What is tea?\n"
                + expected(false, ChatFormat.CHATML, "What is tea?", o) + "\n", r.out());
        assertEquals(r.out(), generate(args).out(), "the same seed gives the same text");
    }

    @Test void badInputsAreOneLineAndExitTwo() throws Exception {
        Path other = PeftAdapterFixture.write(fixture("llama"), dir.resolve("other"), n -> true, 0.1, 1);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        record Case(String[] args, String message) {}
        List<Case> cases = List.of(
                new Case(new String[] {"--base", "builtin:tiny-llama"}, "error: no prompt: give --prompt TEXT (repeatable) or --prompt-file FILE"),
                new Case(new String[] {"--base", "builtin:tiny-llama", "--prompt", "a", "--temperature", "-1"},
                        "error: --temperature must be >= 0 (0 = greedy), got -1.0"),
                new Case(new String[] {"--base", "builtin:tiny-llama", "--prompt", "a", "--top-p", "0"}, "error: --top-p must be in (0, 1], got 0.0"),
                new Case(new String[] {"--base", dir.resolve("nowhere").toString(), "--prompt", "a"},
                        "error: base model " + dir.resolve("nowhere") + " does not exist; download the model there or fix the path"),
                new Case(new String[] {"--base", "builtin:tiny-llama", "--lora", empty.toString(), "--prompt", "a", "--device", "cpu"},
                        "error: " + empty + ": no adapter_config.json; not a PEFT adapter folder"),
                new Case(new String[] {"--base", "builtin:tiny-llama", "--lora", other.toString(), "--prompt", "a", "--device", "cpu"},
                        "error: adapter weights for 'model.layers.0.mlp.down_proj' (lora_A [4, 48], lora_B [32, 4]) do not fit the"
                                + " model's weight [128, 384]"));
        for (Case c : cases) {
            var r = generate(c.args());
            assertEquals(2, r.code(), String.join(" ", c.args()) + ": " + r.err());
            assertEquals(c.message() + "\n", r.err());
            assertEquals("", r.out());
        }
    }

    @Test void helpShowsExamples() {
        var r = generate("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Examples:") && r.out().contains("./lora generate --base builtin:tiny-llama"), r.out());
    }

    static Path fixture(String name) throws Exception {
        return Path.of(CliGenerateCommandTest.class.getResource("/fixtures/hf/" + name + "/config.json").toURI()).getParent();
    }
}
