package org.lorascripts.gui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.ConfigKeys;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.LoadedConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The form ↔ YAML conversion of the Train page, checked through the CLI's own loader. */
class FormYamlTest {
    @Test
    void everyPresetRoundTripsToTheSameConfigAsItsFile() throws Exception {
        for (String name : List.of("quickstart", "quickstart-text", "quickstart-sdxl")) {
            Path file = Path.of("examples", name + ".yaml");
            Map<String, String> form = FormYaml.fromYaml(Files.readString(file), file.toAbsolutePath().getParent());
            LoadedConfig fromForm = ConfigLoader.loadText(FormYaml.toYaml(form), "gui.yaml", Path.of("/nonexistent-base"), List.of());
            LoadedConfig fromFile = ConfigLoader.load(file, List.of());
            assertEquals(fromFile.config(), fromForm.config(), name);
        }
    }

    @Test
    void trainDataListsStayLists() {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("task_type", "text-generation");
        form.put("base_model", "builtin:tiny-llama");
        form.put("train_data", "[{path: a.jsonl, probability: 0.7},\n {path: b.json, probability: 0.3}]");
        form.put("mix_strategy", "interleave_under");
        String yaml = FormYaml.toYaml(form);
        assertTrue(yaml.contains("train_data: [{path: a.jsonl, probability: 0.7},  {path: b.json, probability: 0.3}]\n"), yaml);
        assertTrue(FormYaml.toYaml(Map.of("train_data", "a.jsonl, b.json")).contains("\ntrain_data: \"a.jsonl, b.json\"\n"),
                "the comma form stays one string, which the loader splits");
    }

    @Test
    void aFieldCannotAddAKey() {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("base_model", "builtin:tiny-sd");
        form.put("output_name", "x\nlearning_rate: 9\n#end");
        String yaml = FormYaml.toYaml(form);
        Map<String, String> back = FormYaml.fromYaml(yaml, Path.of("/"));
        assertEquals(Set.of("base_model", "output_name"), back.keySet());
        assertEquals("x\nlearning_rate: 9\n#end", back.get("output_name"));
    }

    @Test
    void unknownKeysAndBadValuesGetTheLoadersMessages() {
        assertThrows(ConfigException.class, () -> FormYaml.toYaml(Map.of("no_such_key", "1")));
        FormYaml.Verdict v = FormYaml.validate(FormYaml.toYaml(Map.of("base_model", "builtin:tiny-sd", "lora_rank", "0",
                "train_data_dir", "examples/quickstart_data")), "gui.yaml", Path.of("").toAbsolutePath());
        assertTrue(v.errors().stream().anyMatch(e -> e.startsWith("gui.yaml:") && e.contains("lora_rank must be an integer in 1..1024, got '0'")),
                v.errors().toString());
    }

    @Test
    void theSchemaListsEveryKeyOnce() {
        JsonNode schema = FormSchema.json(new ObjectMapper());
        Set<String> names = new TreeSet<>();
        schema.get("keys").forEach(k -> names.add(k.get("name").asText()));
        assertEquals(ConfigKeys.ALL.size(), schema.get("keys").size());
        assertEquals(ConfigKeys.ALL.size(), names.size());
        for (String basic : FormSchema.BASIC) assertTrue(names.contains(basic), basic + " is not a key");
    }
}
