package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.demo.TextCorpus;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.ChatFormat;
import org.lorascripts.tasks.llm.PromptCompleter;

/** builtin:tiny-llama is pretrained: it continues prompts with readable sentences and knows its corpus, not tea. */
class TinyLlamaBuiltinTest {
    /** Mean next-token loss (nats) of {@code lines}, each as {@code <s> line}. */
    static double meanLoss(LlamaForCausalLM m, HfTokenizer tok, List<String> lines) {
        double sum = 0;
        long n = 0;
        try (Autograd.GradMode g = Autograd.noGrad()) {
            for (String line : lines) {
                long[] ids = tok.encode(line);
                long[] withBos = new long[ids.length + 1];
                withBos[0] = tok.bosId().getAsLong();
                System.arraycopy(ids, 0, withBos, 1, ids.length);
                try (Scope s = Scope.open()) {
                    Tensor t = Torch.of(withBos, 1, withBos.length);
                    sum += m.lossSum(t, t).item();
                    n += ids.length;
                }
            }
        }
        return sum / n;
    }

    @Test void writesReadableTextAndKnowsItsCorpusButNotTea() throws Exception {
        Path dir = TinyLlamaBuiltin.ensureCached();
        try (LlamaForCausalLM m = LlamaForCausalLM.load(dir, Device.CPU, DType.F32); HfTokenizer tok = HfTokenizer.load(dir)) {
            String fox = new PromptCompleter(m, tok, ChatFormat.NONE).complete("The fox lives", Generator.Options.greedy(24)).text();
            System.out.println("The fox lives →" + fox);
            assertTrue(fox.contains("forest") && fox.contains("."), fox);

            List<String> unseen = new java.util.ArrayList<>();
            for (int i = 0; i < 24; i++) unseen.add(TextCorpus.paragraph(20261204L, 50_000_000L + i));   // beyond the training range
            List<String> tea = Files.readAllLines(Path.of("examples/quickstart_text/domain.txt")).subList(0, 24);
            double corpus = meanLoss(m, tok, unseen), domain = meanLoss(m, tok, tea);
            System.out.printf("tiny-llama loss: unseen corpus paragraphs %.3f, tea sentences %.3f nats/token%n", corpus, domain);
            assertTrue(corpus < 1.0, "fluent in its own kind of text: " + corpus);
            assertTrue(domain > corpus + 3, "tea is new to it (what the quickstart LoRA teaches): " + domain);
        }
    }
}
