package org.lorascripts.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;

/** Special tokens from tokenizer_config.json, special_tokens_map.json, config.json and generation_config.json. */
class TokenizerSettingsTest {
    @TempDir Path dir;

    @Test
    void addBosFalseKeepsTheIdButTurnsBosOff() throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(dir, Map.of("add_bos_token", false))) {
            assertFalse(tok.addsBos());
            assertEquals(TinyTokenizerFixture.addedTokenId(dir, "<s>"), tok.bosId().orElseThrow());
        }
    }

    @Test
    void noBosTokenMeansNoBos() throws IOException {
        // Qwen: bos_token null, add_bos_token absent.
        try (HfTokenizer tok = TinyTokenizerFixture.load(dir, Map.of("bos_token", NullNode.instance,
                "add_bos_token", NullNode.instance))) {
            assertTrue(tok.bosId().isEmpty());
            assertFalse(tok.addsBos());
        }
    }

    @Test
    void padFallsBackToEos() throws IOException {
        try (HfTokenizer tok = TinyTokenizerFixture.load(dir, Map.of("pad_token", NullNode.instance))) {
            assertEquals(TinyTokenizerFixture.addedTokenId(dir, "</s>"), tok.padId());
            assertEquals(tok.eosId(), tok.padId());
        }
    }

    @Test
    void addedTokenObjectFormIsRead() throws IOException {
        var eos = Json.object("content", "<|im_end|>", "special", true);
        try (HfTokenizer tok = TinyTokenizerFixture.load(dir, Map.of("eos_token", eos))) {
            assertEquals(TinyTokenizerFixture.addedTokenId(dir, "<|im_end|>"), tok.eosId());
        }
    }

    @Test
    void configJsonEosListAddsStopIds() throws IOException {
        TinyTokenizerFixture.write(dir, Map.of());
        long eos = TinyTokenizerFixture.addedTokenId(dir, "</s>");
        long eot = TinyTokenizerFixture.addedTokenId(dir, "<|eot_id|>");
        long imEnd = TinyTokenizerFixture.addedTokenId(dir, "<|im_end|>");
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": [" + eos + ", " + eot + "]}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": " + imEnd + "}");
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(eos, tok.eosId());
            assertArrayEquals(new long[] {eos, eot, imEnd}, tok.stopIds());
            assertTrue(tok.isStop(eot));
        }
    }

    @Test
    void eosFromConfigJsonOrSpecialTokensMapWhenTokenizerConfigHasNone() throws IOException {
        TinyTokenizerFixture.write(dir, Map.of("eos_token", NullNode.instance));
        long eot = TinyTokenizerFixture.addedTokenId(dir, "<|eot_id|>");
        long eos = TinyTokenizerFixture.addedTokenId(dir, "</s>");
        Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": [" + eot + ", " + eos + "]}");
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(eot, tok.eosId(), "the first of config.json's list");
        }
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"eos_token\": {\"content\": \"</s>\", \"lstrip\": false}}");
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(eos, tok.eosId());
            assertArrayEquals(new long[] {eos, eot}, tok.stopIds());
        }
    }

    @Test
    void noEosAnywhereIsAClearError() throws IOException {
        TinyTokenizerFixture.write(dir, Map.of("eos_token", NullNode.instance));
        var e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + " has no 'eos_token'"), e.getMessage());
    }

    @Test
    void specialTokenThatIsNotOneTokenIsAClearError() throws IOException {
        TinyTokenizerFixture.write(dir, Map.of("bos_token", "<start>"));
        var e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": bos_token '<start>' is not a single token"),
                e.getMessage());
    }

    @Test
    void missingTokenizerJsonNamesThePath() {
        var e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer.json") + " does not exist"), e.getMessage());
    }

    @Test
    void malformedConfigNamesTheFile() throws IOException {
        TinyTokenizerFixture.write(dir, Map.of());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\",}");
        var e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": not valid JSON"), e.getMessage());
    }

    @Test
    void namedChatTemplateListPicksDefault() throws IOException {
        var list = Json.array(Json.object("name", "tool_use", "template", "tools"),
                Json.object("name", "default", "template", "{{ '[INST]' }}"));
        try (HfTokenizer tok = TinyTokenizerFixture.load(dir, Map.of("chat_template", list))) {
            assertEquals("{{ '[INST]' }}", tok.chatTemplate().orElseThrow());
        }
    }
}
