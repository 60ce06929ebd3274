package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lorascripts.nn.LoraHost;

/**
 * Which modules get a LoRA, as PEFT selects them (tuners_utils.check_target_module_exists):
 * a list of short names matches a module whose path equals a name or ends with {@code .name};
 * a single string is a regular expression the whole path must match; {@code all-linear} means
 * every linear layer except the output layer ({@code lm_head}). {@code layers_to_transform}
 * further keeps only modules under {@code layers.N.} (or {@code h.N.}, {@code blocks.N.}) with N listed.
 */
public final class PeftTargets {
    public static final String ALL_LINEAR = "all-linear";
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layers|h|blocks|block|layer)\\.(\\d+)\\.");

    private PeftTargets() {}

    /** A filter over module paths for {@link LoraNetwork#inject}. */
    public static Predicate<String> select(List<String> targetModules, String targetRegex, List<Integer> layersToTransform, String outputLayer) {
        Predicate<String> byName;
        if (targetRegex != null && !targetRegex.equals(ALL_LINEAR)) {
            Pattern p = Pattern.compile(targetRegex);
            byName = n -> p.matcher(n).matches();
        } else if (ALL_LINEAR.equals(targetRegex) || (targetModules != null && targetModules.equals(List.of(ALL_LINEAR)))) {
            byName = n -> !n.equals(outputLayer) && !n.endsWith("." + outputLayer);
        } else {
            List<String> names = List.copyOf(targetModules);
            byName = n -> names.stream().anyMatch(t -> n.equals(t) || n.endsWith("." + t));
        }
        if (layersToTransform == null) return byName;
        return n -> {
            if (!byName.test(n)) return false;
            Matcher m = LAYER.matcher(n);
            return m.find() && layersToTransform.contains(Integer.parseInt(m.group(1)));
        };
    }

    /** Linear hosts selected by the filter (convolutions are not PEFT LLM targets). */
    public static List<String> selected(Map<String, LoraHost> hosts, Predicate<String> filter) {
        List<String> out = new ArrayList<>();
        hosts.forEach((n, h) -> { if (h.kind() == LoraHost.Kind.LINEAR && filter.test(n)) out.add(n); });
        return out;
    }

    /** The short names (last path component) of modules, sorted, as PEFT records target_modules. */
    public static List<String> shortNames(Iterable<String> modules) {
        TreeSet<String> s = new TreeSet<>();
        for (String m : modules) s.add(m.substring(m.lastIndexOf('.') + 1));
        return List.copyOf(s);
    }
}
