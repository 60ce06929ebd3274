package org.lorascripts.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TextCorpusTest {
    @Test void paragraphsAreDeterministicVariedSentences() {
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            String p = TextCorpus.paragraph(1, i);
            assertEquals(p, TextCorpus.paragraph(1, i));
            assertTrue(Character.isUpperCase(p.charAt(0)) && p.endsWith("."), p);
            assertFalse(p.contains("  ") || p.contains(" ,") || p.contains(" ."), p);
            assertFalse(p.toLowerCase(java.util.Locale.ROOT).matches(".*\\btea\\b.*"), "tea is the quickstart LoRA's domain: " + p);
            distinct.add(p);
        }
        assertTrue(distinct.size() > 1200, "varied: " + distinct.size());   // recipes and animal facts repeat by design
    }

    @Test void recipeStepsAreConjugated() {
        assertEquals("cuts two carrots", TextCorpus.conjugate("cut two carrots"));
        assertEquals("washes one cup of rice", TextCorpus.conjugate("wash one cup of rice"));
        assertEquals("covers the pot and cooks it", TextCorpus.conjugate("cover the pot and cook it"));
        assertEquals("lets the dough rest", TextCorpus.conjugate("let the dough rest"));
    }
}
