package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * log_with (kohya) / report_to (Hugging Face), log_tracker_name and tracker_run_name (kohya's wandb_run_name):
 * parsing, defaults, one-line errors, and the conversion of a kohya argument file's tracker keys.
 */
class TrackingConfigTest {
    @TempDir Path dir;

    private static final String BASE = "base_model: builtin:tiny-sd\ntrain_data_dir: data\noutput_dir: out/my_style\n";

    private TrainConfig.Tracking tracking(String yaml) {
        return ConfigTestFiles.load(dir, BASE + yaml).config().tracking();
    }

    @Test
    void tensorboardIsTheDefaultAndTheRunIsNamedAfterTheOutput() {
        TrainConfig.Tracking t = tracking("");
        assertEquals(List.of("tensorboard"), t.logWith());
        assertEquals(Optional.empty(), t.experiment());
        assertEquals("my_style", t.runName());
        assertFalse(t.wants("mlflow"));
        assertEquals("named", tracking("output_name: named\n").runName());
    }

    @Test
    void kohyasStringHfsListAndTheAliases() {
        assertEquals(List.of("wandb"), tracking("log_with: wandb\n").logWith());
        assertEquals(List.of("tensorboard", "mlflow"), tracking("report_to: [tensorboard, mlflow]\n").logWith());
        assertEquals(List.of("tensorboard", "mlflow"), tracking("report_to: tensorboard,mlflow\n").logWith());
        assertEquals(List.of("mlflow"), tracking("log_with: MLflow\n").logWith());
        TrainConfig.Tracking all = tracking("log_with: all\nlog_tracker_name: proj\nwandb_run_name: try-3\n");
        assertTrue(all.wants("mlflow") && all.wants("wandb") && !all.names("mlflow"));
        assertEquals(Optional.of("proj"), all.experiment());
        assertEquals("try-3", all.runName());
        assertEquals("r", tracking("tracker_run_name: r\n").runName());
    }

    @Test
    void unknownTrackersAndNoneWithOthersAreOneLineErrors() {
        assertEquals(List.of("my.yaml:4: log_with: unknown tracker 'comet'; use tensorboard, mlflow, wandb, all, none"),
                ConfigTestFiles.errors(dir, BASE + "log_with: [tensorboard, comet]\n"));
        assertEquals(List.of("my.yaml:4: report_to: unknown tracker 'neptune'; use tensorboard, mlflow, wandb, all, none"),
                ConfigTestFiles.errors(dir, BASE + "report_to: neptune\n"));
        assertEquals(List.of("my.yaml:4: log_with: none cannot be combined with other trackers, got none, mlflow"),
                ConfigTestFiles.errors(dir, BASE + "log_with: [none, mlflow]\n"));
    }

    @Test
    void kohyasTrackerKeysAreConverted() throws Exception {
        Path args = Files.writeString(dir.resolve("args.toml"), """
                [model_arguments]
                pretrained_model_name_or_path = "builtin:tiny-sd"
                [training_arguments]
                train_data_dir = "data"
                output_dir = "out"
                [logging_arguments]
                log_with = "all"
                log_tracker_name = "my-project"
                wandb_run_name = "first-try"
                wandb_api_key = "do-not-import"
                logging_dir = "logs"
                """);
        KohyaImport.Conversion conv = KohyaImport.read(args);
        assertTrue(conv.has("log_with") && conv.has("log_tracker_name") && conv.has("tracker_run_name"));
        TrainConfig c = ConfigLoader.load(args, List.of()).config();
        assertEquals(List.of("all"), c.tracking().logWith());
        assertEquals(Optional.of("my-project"), c.tracking().experiment());
        assertEquals("first-try", c.tracking().runName());
        List<String> warnings = conv.warnings().stream().map(ConfigWarning::message).toList();
        String noEffect = warnings.stream().filter(w -> w.startsWith("kohya keys without effect")).findFirst().orElseThrow();
        assertTrue(noEffect.contains("wandb_api_key") && noEffect.contains("logging_dir"), noEffect);
        assertFalse(noEffect.contains("log_with") || noEffect.contains("wandb_run_name") || noEffect.contains("log_tracker_name"), noEffect);
        String yaml = conv.yaml(dir);
        assertTrue(yaml.contains("  log_with: [\"all\"]") || yaml.contains("  log_with: \"all\""), yaml);
        assertTrue(yaml.contains("  tracker_run_name: \"first-try\"   # kohya: wandb_run_name"), yaml);
        assertFalse(yaml.contains("do-not-import"), yaml);
        Path written = Files.writeString(dir.resolve("converted.yaml"), yaml);
        assertEquals(c, ConfigLoader.load(written, List.of()).config(), "the YAML loads to the same config");

        Path bad = Files.writeString(dir.resolve("bad.toml"), """
                pretrained_model_name_or_path = "builtin:tiny-sd"
                train_data_dir = "data"
                log_with = "comet_ml"
                """);
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.load(bad, List.of()));
        assertEquals(List.of(bad + ":3: log_with: unknown tracker 'comet_ml'; use tensorboard, mlflow, wandb, all, none"), e.problems());
    }
}
