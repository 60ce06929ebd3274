package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * The original LDM inference config of a single-file checkpoint ({@code v2-inference-v.yaml} and
 * the like), as AUTOMATIC1111 WebUI reads it from a {@code .yaml} with the checkpoint's name beside
 * it: what the tensors cannot tell. Every field is null when the file does not say.
 *
 * @param numHeads         {@code unet_config.params.num_heads} (SD 1.x: 8 per block)
 * @param numHeadChannels  {@code unet_config.params.num_head_channels} (SD 2.x: 64; -1 = unset)
 * @param vPrediction      {@code model.params.parameterization: v}
 * @param scaleFactor      {@code model.params.scale_factor}, the VAE latent scaling
 * @param penultimate      {@code cond_stage_config.params.layer: penultimate} (OpenCLIP towers)
 */
public record LdmSidecar(Integer numHeads, Integer numHeadChannels, Boolean vPrediction, Double scaleFactor, Boolean penultimate,
                         String file) {
    /** Larger than any real LDM config (they are a few KiB). */
    static final long MAX_BYTES = 1 << 20;

    /** The {@code .yaml} next to {@code checkpoint} with the same base name, if any. */
    public static Path besides(Path checkpoint) {
        String name = checkpoint.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return checkpoint.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".yaml");
    }

    public static LdmSidecar read(Path yaml) throws IOException {
        String label = yaml.getFileName().toString();
        long size = Files.size(yaml);
        if (size > MAX_BYTES) throw new IllegalArgumentException(label + ": " + size + " bytes is too large for an LDM config (at most " + MAX_BYTES + ")");
        Object root;
        try {
            LoadSettings settings = LoadSettings.builder().setLabel(label).setAllowDuplicateKeys(false).setMaxAliasesForCollections(20)
                    .setCodePointLimit((int) MAX_BYTES).build();
            root = new Load(settings).loadFromString(Files.readString(yaml, StandardCharsets.UTF_8));
        } catch (YamlEngineException e) {
            throw new IllegalArgumentException(label + ": not valid YAML (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        Object params = at(root, List.of("model", "params"));
        if (params == null) {
            throw new IllegalArgumentException(label + ": not an LDM model config (no model.params); give the .yaml the checkpoint was released with");
        }
        Object unet = at(params, List.of("unet_config", "params"));
        Object cond = at(params, List.of("cond_stage_config", "params"));
        Object parameterization = at(params, List.of("parameterization"));
        Object layer = at(cond, List.of("layer"));
        return new LdmSidecar(integer(at(unet, List.of("num_heads")), label, "num_heads"),
                integer(at(unet, List.of("num_head_channels")), label, "num_head_channels"),
                parameterization == null ? null : "v".equals(String.valueOf(parameterization)),
                number(at(params, List.of("scale_factor")), label, "scale_factor"),
                layer == null ? null : "penultimate".equals(String.valueOf(layer)), label);
    }

    private static Object at(Object node, List<String> path) {
        for (String key : path) {
            if (!(node instanceof Map<?, ?> m)) return null;
            node = m.get(key);
        }
        return node;
    }

    private static Integer integer(Object v, String file, String key) {
        if (v == null) return null;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 1 << 20) return n.intValue();
        throw new IllegalArgumentException(file + ": " + key + " must be a whole number, got '" + v + "'");
    }

    private static Double number(Object v, String file, String key) {
        if (v == null) return null;
        if (v instanceof Number n && n.doubleValue() > 0 && n.doubleValue() < 100) return n.doubleValue();
        throw new IllegalArgumentException(file + ": " + key + " must be a positive number, got '" + v + "'");
    }
}
