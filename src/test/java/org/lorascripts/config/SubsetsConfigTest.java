package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The subsets: key in YAML and --set: typed per subset, unset keys from the top level, one-line errors with lines. */
class SubsetsConfigTest {
    private static final Path BASE = Path.of("/data/project");

    private static TrainConfig load(String yaml, String... overrides) {
        return ConfigLoader.loadText(yaml, "c.yaml", BASE, List.of(overrides)).config();
    }

    private static List<String> problems(String yaml, String... overrides) {
        return assertThrows(ConfigException.class, () -> load(yaml, overrides)).problems();
    }

    @Test
    void subsetsReplaceTrainDataDirAndInheritTheTopLevelKeys() {
        TrainConfig c = load("""
                base_model: builtin:tiny-sd
                caption_extension: .caption
                shuffle_caption: true
                keep_tokens_separator: "|||"
                subsets:
                  - image_dir: img/style
                    num_repeats: 10
                    class_tokens: mystyle
                    keep_tokens: 2
                  - {image_dir: /reg/person, is_reg: yes, caption_extension: .txt, shuffle_caption: false, metadata_file: meta.jsonl}
                """);
        assertEquals(List.of(
                new TrainConfig.Subset(BASE.resolve("img/style"), 10, "mystyle", false, Optional.empty(), ".caption", true, 2, "|||",
                        0, 0, false, false, TrainConfig.Captions.NONE),
                new TrainConfig.Subset(Path.of("/reg/person"), 1, "", true, Optional.of(BASE.resolve("meta.jsonl")), ".txt", false, 0,
                        "|||", 0, 0, false, false, TrainConfig.Captions.NONE)), c.data().subsets());
        assertEquals(Path.of("/"), c.data().trainDataDir());   // the folder that holds both
    }

    @Test
    void setAcceptsAFlowList() {
        TrainConfig c = load("base_model: builtin:tiny-sd\n", "subsets=[{image_dir: a, num_repeats: 3}]");
        assertEquals(3, c.data().subsets().getFirst().numRepeats());
        assertEquals(Path.of("").toAbsolutePath().resolve("a"), c.data().subsets().getFirst().imageDir());
    }

    @Test
    void everyProblemOfEverySubsetIsNamedWithItsLine() {
        assertEquals(List.of(
                "c.yaml:4: unknown subset key 'num_repeat' in subsets[0] (did you mean 'num_repeats'?)",
                "c.yaml:5: subsets[0].flip_aug must be true or false, got 'maybe'",
                "c.yaml:6: subsets[1] has no image_dir; give the folder of its images",
                "c.yaml:2: subsets[2] must be a mapping like {image_dir: data/style, num_repeats: 10}, got 'just/a/folder'"),
                problems("""
                        base_model: builtin:tiny-sd
                        subsets:
                          - image_dir: a
                            num_repeat: 2
                            flip_aug: maybe
                          - num_repeats: 2
                          - just/a/folder
                        """));
    }

    @Test
    void subsetsConflictWithTheFoldersTheyReplace() {
        assertEquals(List.of("c.yaml:2: set either train_data_dir or subsets (at c.yaml:4), not both: subsets name their image folders",
                        "c.yaml:3: set either reg_data_dir or subsets (at c.yaml:4), not both: give the reg folders as subsets with is_reg: true"),
                problems("""
                        base_model: builtin:tiny-sd
                        train_data_dir: data
                        reg_data_dir: reg
                        subsets: [{image_dir: a}]
                        """));
        assertEquals(List.of("c.yaml:2: every subset has is_reg: true; at least one must hold training images"),
                problems("base_model: builtin:tiny-sd\nsubsets: [{image_dir: a, is_reg: true}]\n"));
        assertEquals(List.of("c.yaml:3: subsets[0].flip_aug: true needs cache_latents: false (cached latents are computed once per image,"
                        + " so per-step augmentation cannot apply)"),
                problems("base_model: builtin:tiny-sd\nsubsets:\n  - image_dir: a\n    flip_aug: true\n"));
        assertEquals(List.of("c.yaml: missing required key 'train_data_dir': " + ConfigKeys.get("train_data_dir").help()),
                problems("base_model: builtin:tiny-sd\n"));
    }

    @Test
    void aSeparatorWithoutShuffleIsWarnedAbout() {
        List<String> w = ConfigLoader.loadText("base_model: builtin:tiny-sd\ntrain_data_dir: d\nkeep_tokens_separator: \"|||\"\n", "c.yaml", BASE,
                List.of()).warnings().stream().map(ConfigWarning::message).toList();
        assertEquals(List.of("keep_tokens_separator acts only with shuffle_caption or caption_tag_dropout_rate; without them"
                + " captions train as written, the separator included (as in kohya)"), w.stream().filter(m -> m.contains("separator")).toList());
        List<String> none = ConfigLoader.loadText("base_model: builtin:tiny-sd\ntrain_data_dir: d\nkeep_tokens_separator: \"|||\"\n"
                + "shuffle_caption: true\n", "c.yaml", BASE, List.of()).warnings().stream().map(ConfigWarning::message)
                .filter(m -> m.contains("separator")).toList();
        assertEquals(List.of(), none);
    }
}
