package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConfigKeyTableTest {
    @Test void docsFileIsGeneratedFromTheRegistry() throws Exception {
        Path doc = Path.of("docs/config-keys.md");
        assertEquals(ConfigKeyTable.markdown(), Files.readString(doc),
                "docs/config-keys.md is stale: regenerate it with ./lora train --list-keys > docs/config-keys.md");
    }

    @Test void readmeCarriesTheSameTable() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int a = readme.indexOf("<!-- config-keys:start -->\n"), b = readme.indexOf("<!-- config-keys:end -->");
        assertTrue(a >= 0 && b > a, "README.md lacks the config-keys markers");
        String md = ConfigKeyTable.markdown();
        String table = md.substring(md.indexOf("| Key |"));
        assertEquals(table, readme.substring(a + "<!-- config-keys:start -->\n".length(), b),
                "README.md's key table is stale: paste the table of ./lora train --list-keys between the markers");
    }

    @Test void everyKeyIsOneRowAndNoSpellingIsTaken() {
        String md = ConfigKeyTable.markdown();
        Set<String> seen = new HashSet<>();
        for (ConfigKey k : ConfigKeys.ALL) {
            assertTrue(md.contains("| `" + k.name() + "` |"), k.name());
            assertTrue(seen.add(k.name()), k.name());
            for (String a : k.aliases()) assertTrue(seen.add(a), "alias " + a + " is taken");
            assertFalse(k.help().isBlank(), "help of " + k.name());
        }
        for (Section s : Section.values()) assertTrue(seen.add(s.yamlName()));
    }

    @Test void requestedKeysExist() {
        for (String k : ("base_model task_type lora_rank lora_alpha lora_dropout train_data_dir metadata_path resolution"
                + " batch_size gradient_accumulation_steps learning_rate lr_scheduler lr_warmup_steps warmup_steps"
                + " lr_scheduler_num_cycles lr_scheduler_power epochs max_steps max_grad_norm weight_decay optimizer"
                + " adam_beta1 adam_beta2 adam_epsilon use_fp16 mixed_precision gradient_checkpointing seed log_interval"
                + " save_steps save_every_n_epochs save_total_limit output_dir output_name save_precision sample_prompts"
                + " sample_every_n_steps val_ratio val_data_dir eval_steps early_stopping_patience device clip_skip"
                + " max_token_length network_module train_text_encoder text_encoder_lr unet_lr network_weights"
                + " noise_offset min_snr_gamma caption_dropout_rate shuffle_caption keep_tokens flip_aug random_crop"
                + " enable_bucket min_bucket_reso max_bucket_reso bucket_reso_steps bucket_no_upscale cache_latents"
                + " cache_latents_to_disk prediction_type conv_rank conv_alpha sample_sampler sample_steps"
                + " sample_cfg_scale sample_seed target_modules max_seq_len packing use_rslora data_format chat_template"
                + " eval_prompts").split(" ")) {
            assertTrue(ConfigKeys.lookup(k).isPresent(), k);
        }
    }
}
