package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.config.ConfigTestFiles.error;
import static org.lorascripts.config.ConfigTestFiles.load;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * network_type and kohya's network_args for LyCORIS ({@code network_module: lycoris.kohya}): algo= sets the type,
 * conv_dim= / conv_alpha= the conv rank and alpha, factor etc. reach LoKr; conflicts and bad values are one-line
 * errors at load; LyCORIS arguments that are not implemented, and unknown ones, are named in warnings.
 */
class ConfigNetworkArgsTest {
    @TempDir Path dir;

    private static final String MINIMAL = "base_model: builtin:tiny-sd\ntrain_data_dir: data\n";

    @Test void defaultIsPlainLora() {
        TrainConfig.Lora l = load(dir, MINIMAL).config().lora();
        assertEquals(NetworkType.LORA, l.networkType());
        assertEquals(NetworkArgs.NONE.raw(), l.networkArgs().raw());
    }

    @Test void kohyaLycorisArgsSetTypeConvRankAndLokrOptions() {
        LoadedConfig c = load(dir, MINIMAL + "network_module: lycoris.kohya\nnetwork_args: [\"algo=lokr\", \"conv_dim=4\", \"conv_alpha=1\", \"factor=8\","
                + " \"decompose_both=True\"]\n");
        TrainConfig.Lora l = c.config().lora();
        assertEquals(NetworkType.LOKR, l.networkType());
        assertEquals(4, l.convRank());
        assertEquals(1.0, l.convAlpha());
        assertEquals(8, l.networkArgs().factor());
        assertTrue(l.networkArgs().decomposeBoth());
        assertEquals(List.of(), c.warnings(), "lycoris.kohya with understood args: nothing to warn about");
        assertEquals(NetworkType.LOHA, load(dir, MINIMAL, "network_type=loha").config().lora().networkType());
        assertEquals(NetworkType.LORA, load(dir, MINIMAL + "network_args: [\"algo=locon\", \"conv_dim=8\"]\n").config().lora().networkType());
        assertEquals(8, load(dir, MINIMAL + "network_args: [\"algo=locon\", \"conv_dim=8\"]\n").config().lora().convAlpha(), "conv_alpha defaults to conv_dim");
    }

    @Test void conflictsAndBadValuesAreOneLineErrors() {
        assertEquals("my.yaml:3: network_type 'loha' conflicts with network_args algo=lokr (my.yaml:4); keep one of them",
                error(dir, MINIMAL + "network_type: loha\nnetwork_args: [\"algo=lokr\"]\n"));
        assertEquals("my.yaml:3: conv_rank 2 conflicts with network_args conv_dim=4 (my.yaml:4); keep one of them",
                error(dir, MINIMAL + "conv_rank: 2\nnetwork_args: [\"conv_dim=4\"]\n"));
        assertEquals("my.yaml:3: network_args: algo=ia3 is not supported; this trainer trains algo=lora (or locon), loha and lokr",
                error(dir, MINIMAL + "network_args: [\"algo=ia3\"]\n"));
        assertEquals("my.yaml:3: network_args entry 'loha' is not key=value (e.g. \"algo=loha\")", error(dir, MINIMAL + "network_args: [loha]\n"));
        assertEquals("my.yaml:3: network_args: factor must be an integer from -1 to 1048576, got 'big'",
                error(dir, MINIMAL + "network_args: [\"algo=lokr\", \"factor=big\"]\n"));
        assertEquals("my.yaml:3: network_args: 'algo' is given twice", error(dir, MINIMAL + "network_args: [\"algo=loha\", \"algo=loha\"]\n"));
        assertTrue(error(dir, MINIMAL + "network_type: lycoris\n").contains("network_type"), "an unknown type names the key");
    }

    @Test void doraWdSetsUseDoraAndDoraNeedsPlainLora() {
        TrainConfig.Lora l = load(dir, MINIMAL + "network_module: lycoris.kohya\nnetwork_args: [\"algo=lora\", \"dora_wd=True\"]\n").config().lora();
        assertTrue(l.useDora(), "LyCORIS' dora_wd=True is kohya's way to ask for DoRA");
        assertEquals(NetworkType.LORA, l.networkType());
        assertEquals(false, load(dir, MINIMAL + "network_args: [\"dora_wd=False\"]\n").config().lora().useDora());
        assertEquals("my.yaml:3: use_dora false conflicts with network_args dora_wd=True (my.yaml:4); keep one of them",
                error(dir, MINIMAL + "use_dora: false\nnetwork_args: [\"dora_wd=True\"]\n"));
        assertEquals("my.yaml:3: use_dora: true decomposes a plain LoRA; network_type loha has no DoRA form here: set network_type lora or use_dora false",
                error(dir, MINIMAL + "use_dora: true\nnetwork_type: loha\n"));
    }

    @Test void unimplementedAndUnknownArgsAreWarnedOnce() {
        List<ConfigWarning> w = load(dir, MINIMAL + "network_args: [\"algo=loha\", \"preset=attn-mlp\", \"use_tucker=True\", \"dropout=0.1\", \"colour=blue\"]\n")
                .warnings();
        List<String> about = w.stream().filter(x -> x.key().equals("network_args")).map(ConfigWarning::message).toList();
        assertEquals(List.of("network_args preset, use_tucker are LyCORIS arguments this trainer does not implement; ignored",
                "network_args has unknown keys colour; ignored (understood: algo, conv_dim, conv_alpha, factor, decompose_both, full_matrix,"
                        + " dora_wd, dropout, rank_dropout, module_dropout)"), about);
        // dropout=0.1 is network_dropout, which LoHa does not apply
        assertTrue(w.stream().anyMatch(x -> x.key().equals("network_dropout")
                && x.message().equals("network_dropout is applied to plain LoRA and LoCon only, not to network_type loha; ignored")), w.toString());
        assertTrue(load(dir, MINIMAL + "network_args: [\"algo=loha\", \"factor=4\"]\n").warnings().stream()
                .anyMatch(x -> x.message().contains("apply to network_type lokr only")));
        assertTrue(load(dir, MINIMAL + "network_module: networks.dylora\n").warnings().stream()
                .anyMatch(x -> x.message().contains("network_module 'networks.dylora' is informational: lora is trained")));
    }

    /** kohya's three dropouts: our keys, or network_args as networks.lora and LyCORIS read them; a conflict is an error. */
    @Test void kohyasDropoutsFromKeysOrNetworkArgs() {
        TrainConfig.Lora l = load(dir, MINIMAL + "network_dropout: 0.1\nrank_dropout: 0.2\nmodule_dropout: 0.3\n").config().lora();
        assertEquals(List.of(0.1, 0.2, 0.3, 0.0), List.of(l.networkDropout(), l.rankDropout(), l.moduleDropout(), l.dropout()),
                "network_dropout is kohya's, not lora_dropout (the input's)");
        l = load(dir, MINIMAL + "network_args: [\"rank_dropout=0.25\", \"module_dropout=0.5\", \"dropout=0.05\"]\n").config().lora();
        assertEquals(List.of(0.05, 0.25, 0.5), List.of(l.networkDropout(), l.rankDropout(), l.moduleDropout()));
        assertTrue(load(dir, MINIMAL + "network_args: [\"rank_dropout=0.25\"]\n").warnings().stream().noneMatch(x -> x.key().equals("network_args")),
                "an understood argument is not warned about");
        assertEquals("my.yaml:3: rank_dropout 0.1 conflicts with network_args rank_dropout=0.2 (my.yaml:4); keep one of them",
                error(dir, MINIMAL + "rank_dropout: 0.1\nnetwork_args: [\"rank_dropout=0.2\"]\n"));
        assertTrue(error(dir, MINIMAL + "network_args: [\"module_dropout=1.5\"]\n").contains("module_dropout must be a number from 0 to below 1, got '1.5'"));
        assertTrue(error(dir, MINIMAL + "rank_dropout: 1\n").contains("rank_dropout"));
        assertTrue(load(dir, MINIMAL + "use_dora: true\nmodule_dropout: 0.1\n").warnings().stream()
                .anyMatch(x -> x.message().equals("module_dropout is applied to plain LoRA and LoCon only, not to DoRA; ignored")));
    }
}
