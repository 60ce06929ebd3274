package org.lorascripts.text.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LoraPromptSyntaxTest {
    private static PromptWithLoras parse(String prompt) {
        return PromptSyntax.extractLoras(prompt);
    }

    private static String error(String prompt) {
        return assertThrows(IllegalArgumentException.class, () -> PromptSyntax.extractLoras(prompt)).getMessage();
    }

    @Test
    void promptWithoutTagsIsUnchangedApartFromItsEnds() {
        PromptWithLoras p = parse("  a (red:1.2) fox, [jumping] <not a tag> ");
        assertEquals("a (red:1.2) fox, [jumping] <not a tag>", p.text());
        assertEquals(List.of(), p.loras());
    }

    @Test
    void extractsTagsInOrderAndRemovesThemLikeTheWebUi() {
        PromptWithLoras p = parse("a photo of sks dog, <lora:sksDog_v2:0.8>, on a beach <lora:detail-tweaker:-0.5>");
        assertEquals("a photo of sks dog, , on a beach", p.text());
        assertEquals(List.of(new LoraTag("sksDog_v2", 0.8), new LoraTag("detail-tweaker", -0.5)), p.loras());
    }

    @Test
    void weightDefaultsToOne() {
        assertEquals(List.of(new LoraTag("style", 1.0, 1.0)), parse("<lora:style>").loras());
        assertEquals("", parse("<lora:style>").text());
    }

    @Test
    void toleratesSpacesInsideTheTag() {
        PromptWithLoras p = parse("cat < lora : my style v1 : 0.75 > sitting");
        assertEquals(List.of(new LoraTag("my style v1", 0.75)), p.loras());
        assertEquals("cat  sitting", p.text());
        assertEquals(List.of(new LoraTag("x", 0.5)), parse("<LoRA:x:.5>").loras(), "the keyword is case-insensitive");
    }

    @Test
    void separateTextEncoderAndUnetWeights() {
        assertEquals(new LoraTag("a", 0.5, 1.25), parse("<lora:a:0.5:1.25>").loras().get(0));
        assertEquals(new LoraTag("a", 0.3, 0.3), parse("<lora:a:te=0.3>").loras().get(0));
        assertEquals(new LoraTag("a", 1.0, 0.2), parse("<lora:a:unet=0.2>").loras().get(0));
        assertEquals(new LoraTag("a", 0.7, 2e-1), parse("<lora:a:0.9:te=0.7:unet=2e-1>").loras().get(0), "named wins");
    }

    @Test
    void malformedWeightsAreClearErrors() {
        String m = error("a cat <lora:style:0.8x>");
        assertTrue(m.contains("<lora:style:0.8x>") && m.contains("\"0.8x\"") && m.contains("character 6"), m);
        for (String bad : List.of("<lora:s:>", "<lora:s:abc>", "<lora:s:NaN>", "<lora:s:Infinity>", "<lora:s:1f>",
                "<lora:s:0x1p3>", "<lora:s:te=>", "<lora:s:1.0.0>")) {
            assertTrue(error(bad).contains("malformed weight"), bad);
        }
    }

    @Test
    void otherMistakesAreClearErrorsToo() {
        assertTrue(error("x <lora::0.5>").contains("no LoRA name"));
        assertTrue(error("x <lora:a:0.5").contains("unclosed"));
        assertTrue(error("<lora:a:0.5 <lora:b:1>").contains("unclosed"), "a '<' before the '>' means the first tag never closed");
        assertTrue(error("<lora:a:1:1:16>").contains("dynamic rank"));
        assertTrue(error("<lora:a:dyn=16>").contains("dyn"));
        assertTrue(error("<lora:a:scale=1>").contains("unknown argument \"scale\""));
        assertTrue(error("<lora:a:1:1:1:1>").contains("too many parts"));
    }
}
