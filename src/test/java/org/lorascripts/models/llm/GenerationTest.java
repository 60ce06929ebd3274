package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/** Generation: the KV cache changes nothing, seeds make sampling repeatable, EOS stops. */
class GenerationTest {

    @Test
    void greedyWithCacheEqualsRecomputingThePrefix() throws Exception {
        for (String name : new String[] {"llama", "llama3", "qwen2"}) {
            try (LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, DType.F32); Tensor ids = LlmFixtures.expected(name, "input_ids")) {
                long[] prompt = Arrays.copyOf(ids.toLongArray(), 5);
                Generator g = new Generator(m);
                long[] cached = g.generate(prompt, Generator.Options.greedy(16).withEos(-1));
                long[] plain = g.generate(prompt, Generator.Options.greedy(16).withEos(-1).withCache(false));
                System.out.println(name + " greedy: " + Arrays.toString(cached));
                assertEquals(16, cached.length);
                assertArrayEquals(plain, cached, name);
            }
        }
    }

    @Test
    void seededSamplingRepeatsAndStopsAtEos() throws Exception {
        try (LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F32)) {
            Generator g = new Generator(m);
            long[] prompt = {1, 50, 60, 70};
            var opt = Generator.Options.sample(12, 1.0, 0.9, 50, 42).withEos(-1);
            long[] a = g.generate(prompt, opt);
            assertArrayEquals(a, g.generate(prompt, opt), "same seed, same tokens");
            assertArrayEquals(a, g.generate(prompt, opt.withCache(false)), "the cache does not change sampling");
            assertFalse(Arrays.equals(a, g.generate(prompt, Generator.Options.sample(12, 1.0, 0.9, 50, 43).withEos(-1))), "another seed, other tokens");
            long[] greedy = g.generate(prompt, Generator.Options.greedy(6).withEos(-1));
            assertArrayEquals(greedy, g.generate(prompt, Generator.Options.sample(6, 0.7, 1.0, 1, 7).withEos(-1)), "top-k 1 is greedy");
            // stop at any eos id, the eos token included
            assertArrayEquals(Arrays.copyOf(greedy, 3), g.generate(prompt, Generator.Options.greedy(6).withEos(999, greedy[2])));
        }
    }

    @Test
    void topPAndTopKKeepOnlyTheLikelyTokens() {
        float[] logits = {0f, 3f, 1f, 2.9f, -5f};
        SplittableRandom rng = new SplittableRandom(1);
        var topK2 = new Generator.Options(1, 1.0, 1.0, 2, 0, null, true);
        // probabilities: token 1 0.479, token 3 0.433, token 2 0.065, ...
        var topP40 = new Generator.Options(1, 1.0, 0.4, 0, 0, null, true);
        var topP50 = new Generator.Options(1, 1.0, 0.5, 0, 0, null, true);
        boolean[] seen = new boolean[5];
        for (int i = 0; i < 300; i++) {
            long t = Generator.pick(logits, topK2, rng);
            assertTrue(t == 1 || t == 3, "top-k 2 keeps tokens 1 and 3, got " + t);
            assertEquals(1, Generator.pick(logits, topP40, rng), "token 1 alone reaches 40%");
            long u = Generator.pick(logits, topP50, rng);
            assertTrue(u == 1 || u == 3, "tokens 1 and 3 reach 50%, got " + u);
            seen[(int) u] = true;
        }
        assertTrue(seen[1] && seen[3], "both kept tokens are drawn");
    }
}
