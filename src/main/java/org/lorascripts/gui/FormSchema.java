package org.lorascripts.gui;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lorascripts.config.ConfigKey;
import org.lorascripts.config.ConfigKeys;
import org.lorascripts.config.Section;
import org.lorascripts.config.ValueText;

import java.util.Set;

/**
 * The Train page's form, as JSON generated from the key registry ({@link ConfigKeys}): every key with its
 * section, task scope, type, default, allowed range or choices and help, so the form never lists a key
 * the loader does not know, nor misses one. {@link #BASIC} are the keys shown before "advanced".
 */
final class FormSchema {
    /** What a newcomer sets: model, data, size, learning rate, length, samples, output. */
    static final Set<String> BASIC = Set.of("base_model", "task_type", "train_data_dir", "resolution", "lora_rank", "lora_alpha",
            "learning_rate", "batch_size", "epochs", "max_steps", "seed", "sample_prompts", "sample_every_n_steps",
            "output_dir", "output_name", "overwrite_output_dir", "mixed_precision", "device", "max_seq_len");

    private FormSchema() {}

    static ObjectNode json(ObjectMapper mapper) {
        ObjectNode root = mapper.createObjectNode();
        ArrayNode sections = root.putArray("sections");
        for (Section s : Section.values()) sections.add(s.yamlName());
        ArrayNode keys = root.putArray("keys");
        for (ConfigKey k : ConfigKeys.ALL) {
            ObjectNode o = keys.addObject();
            o.put("name", k.name());
            o.put("section", k.section().yamlName());
            o.put("scope", k.scope().label());
            o.put("kind", k.kind().name().toLowerCase(java.util.Locale.ROOT));
            o.put("type", k.kind().label());
            o.put("default", k.defaultText());
            if (k.defaultValue() != null) o.put("defaultValue", ValueText.format(k.defaultValue(), k.kind()));
            o.put("expect", k.expectation());
            if (k.min() != null && k.min() != Double.MIN_VALUE) o.put("min", k.min());
            if (k.max() != null) o.put("max", k.max());
            ArrayNode choices = o.putArray("choices");
            k.choices().forEach(choices::add);
            o.put("required", k.required());
            o.put("basic", BASIC.contains(k.name()));
            o.put("help", k.help());
        }
        return root;
    }
}
