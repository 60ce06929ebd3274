package org.lorascripts.tasks.sd;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How AUTOMATIC1111 WebUI finds the module each key of a kohya LoRA changes, re-done over the
 * parameter names of a single-file checkpoint (what WebUI loads) rather than a torch model, so that
 * a test can tell whether a written key would be silently ignored. From
 * {@code extensions-builtin/Lora/networks.py}: {@code assign_network_names_to_compvis_modules} (module
 * names with '.' → '_': {@code diffusion_model_*}; SD 1.x/2.x text encoder below
 * {@code cond_stage_model.}; SDXL's embedder i as {@code i_<name>}), {@code convert_diffusers_name_to_compvis},
 * the fallbacks of {@code load_network} ({@code re_x_proj}, {@code lora_unet} → {@code diffusion_model},
 * {@code lora_te1_text_model} → {@code 0_transformer_text_model}) and {@code network_apply_weights},
 * which puts q/k/v/out LoRAs on an OpenCLIP {@code MultiheadAttention} (fused {@code in_proj}) only
 * when all four are in the file and otherwise drops them. {@link #acceptedModules} adds the module types
 * (LoRA, LyCORIS's LoHa and LoKr) that decide whether a module's keys are used at all.
 */
public final class WebUiLoraRules {
    private WebUiLoraRules() {}

    /** Where each key went (single-file module name; OpenCLIP q/k/v → {@code <attn>.in_proj}), and the keys WebUI would ignore, with why. */
    public record Result(Map<String, String> targets, List<String> ignored) {}

    private static final Pattern X_PROJ = Pattern.compile("(.*)_([qkv]_proj)$");
    private static final Map<String, String> RESNET_SUFFIX = Map.of("conv1", "in_layers_2", "conv2", "out_layers_3", "norm1", "in_layers_0",
            "norm2", "out_layers_0", "time_emb_proj", "emb_layers_1", "conv_shortcut", "skip_connection");

    /**
     * Resolves every kohya module name ({@code lora_unet_...}, without {@code .lora_down.weight}) against
     * the modules of a checkpoint with these parameter names; {@code sd2} as WebUI's is_sd2.
     */
    public static Result resolve(Collection<String> loraNames, Collection<String> checkpointParams, boolean sd2) {
        Map<String, String> mapping = new LinkedHashMap<>();   // WebUI network layer name → checkpoint module
        Set<String> multiheadAttention = new HashSet<>();
        for (String param : checkpointParams) {
            String[] parts = param.split("\\.");
            String root = rootOf(param);
            if (root == null) continue;
            // every module on the way to the parameter, as torch's named_modules lists them
            for (int end = parts.length - 1; end > 0; end--) {
                String module = String.join(".", java.util.Arrays.copyOf(parts, end));
                if (module.length() <= root.length()) break;
                mapping.put(networkName(module, root), module);
            }
            if (param.endsWith(".in_proj_weight")) multiheadAttention.add(param.substring(0, param.length() - ".in_proj_weight".length()));
        }
        Map<String, String> targets = new LinkedHashMap<>();
        Map<String, String> keyOf = new LinkedHashMap<>();      // lora name → WebUI's key (net.modules' key)
        List<String> ignored = new ArrayList<>();
        for (String name : loraNames) {
            String key = convertDiffusersNameToCompvis(name, sd2);
            String module = mapping.get(key);
            if (module == null) {
                Matcher m = X_PROJ.matcher(key);
                if (m.matches()) module = mapping.get(m.group(1));
            }
            if (module == null && name.contains("lora_unet")) {
                key = name.replace("lora_unet", "diffusion_model");
                module = mapping.get(key);
            } else if (module == null && name.contains("lora_te1_text_model")) {
                key = name.replace("lora_te1_text_model", "0_transformer_text_model");
                module = mapping.get(key);
                if (module == null) {
                    key = name.replace("lora_te1_text_model", "transformer_text_model");
                    module = mapping.get(key);
                }
            }
            if (module == null) {
                ignored.add(name + ": no module (" + key + ")");
                continue;
            }
            keyOf.put(name, key);
            targets.put(name, multiheadAttention.contains(module) ? module + ".in_proj" : module);
        }
        // network_apply_weights: a MultiheadAttention takes its LoRAs only when q, k, v and out_proj are all there
        Set<String> keys = new HashSet<>(keyOf.values());
        for (var e : keyOf.entrySet()) {
            String target = targets.get(e.getKey());
            String attention = target.endsWith(".in_proj") ? target.substring(0, target.length() - ".in_proj".length())
                    : target.endsWith(".out_proj") && multiheadAttention.contains(target.substring(0, target.length() - ".out_proj".length()))
                    ? target.substring(0, target.length() - ".out_proj".length()) : null;
            if (attention == null) continue;
            String layer = e.getValue().substring(0, e.getValue().lastIndexOf('_', e.getValue().lastIndexOf('_') - 1));
            for (String p : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
                if (!keys.contains(layer + "_" + p)) {
                    ignored.add(e.getKey() + ": " + attention + " lacks " + layer + "_" + p);
                    targets.remove(e.getKey());
                    break;
                }
            }
        }
        return new Result(targets, ignored);
    }

    /**
     * The network parts (what follows the module name's first '.') a kohya LoRA module is read from:
     * {@code network_lora.py} takes lora_up / lora_down (/ lora_mid) weights, {@code network.py}'s
     * NetworkModule alpha, scale and a DoRA's dora_scale ({@code apply_weight_decompose}).
     */
    public static final Set<String> LORA_PARTS = Set.of("lora_up.weight", "lora_down.weight", "lora_mid.weight", "alpha", "scale", "dora_scale");

    /** Keys of a file whose network part WebUI's LoRA module does not read (load_network's key.partition('.')). */
    public static List<String> unreadKeys(Collection<String> keys) {
        List<String> unread = new ArrayList<>();
        for (String k : keys) {
            int dot = k.indexOf('.');
            if (dot < 0 || !LORA_PARTS.contains(k.substring(dot + 1))) unread.add(k);
        }
        return unread;
    }

    /**
     * WebUI's load_network before the name rules: each key splits at its first '.' into the module's network name
     * and the network part ({@code lora_down.weight}, {@code hada_w1_a}, {@code alpha}, ...), and the module is kept
     * only if one of its module types accepts those parts. The types, from {@code network_lora.py},
     * {@code network_hada.py} and {@code network_lokr.py}: LoRA needs {@code lora_up.weight} and {@code lora_down.weight}
     * (or diffusers' / PEFT's spellings, not written here); LoHa needs {@code hada_w1_a}, {@code hada_w1_b},
     * {@code hada_w2_a} and {@code hada_w2_b}; LoKr needs {@code lokr_w1} or both {@code lokr_w1_a}/{@code lokr_w1_b},
     * and {@code lokr_w2} or both {@code lokr_w2_a}/{@code lokr_w2_b}. Returns the accepted module names, and adds a
     * line per module no type accepts (WebUI: "Could not find a module type") and per network part no type reads.
     */
    public static Set<String> acceptedModules(Collection<String> keys, List<String> problems) {
        Map<String, Set<String>> parts = new java.util.TreeMap<>();
        for (String k : keys) {
            int dot = k.indexOf('.');
            parts.computeIfAbsent(dot < 0 ? k : k.substring(0, dot), x -> new java.util.TreeSet<>()).add(dot < 0 ? "" : k.substring(dot + 1));
        }
        Set<String> known = Set.of("alpha", "scale", "dora_scale", "lora_mid.weight", "lora_up.weight", "lora_down.weight", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b",
                "hada_t1", "hada_t2", "lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2");
        Set<String> accepted = new java.util.TreeSet<>();
        for (var e : parts.entrySet()) {
            Set<String> w = e.getValue();
            boolean lora = w.contains("lora_up.weight") && w.contains("lora_down.weight");
            boolean hada = w.containsAll(List.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"));
            boolean lokr = (w.contains("lokr_w1") || w.contains("lokr_w1_a") && w.contains("lokr_w1_b"))
                    && (w.contains("lokr_w2") || w.contains("lokr_w2_a") && w.contains("lokr_w2_b"));
            if (lora || hada || lokr) accepted.add(e.getKey());
            else problems.add(e.getKey() + ": no module type accepts " + w);
            for (String part : w) if (!known.contains(part)) problems.add(e.getKey() + "." + part + ": no module type reads it");
        }
        return accepted;
    }

    /** The part of a parameter name that is the loaded model's root, or null for a tensor WebUI's LoRA never looks at. */
    private static String rootOf(String param) {
        if (param.startsWith("model.diffusion_model.")) return "model";
        if (param.startsWith("cond_stage_model.")) return "cond_stage_model";
        if (param.matches("conditioner\\.embedders\\.\\d+\\..*")) return "conditioner.embedders";
        return null;
    }

    /** assign_network_names_to_compvis_modules: SDXL embedder i → {@code i_<name>}, the rest below the root. */
    private static String networkName(String module, String root) {
        return module.substring(root.length() + 1).replace('.', '_');
    }

    /** WebUI's convert_diffusers_name_to_compvis. */
    static String convertDiffusersNameToCompvis(String key, boolean sd2) {
        Matcher m;
        if ((m = match(key, "lora_unet_conv_in(.*)")) != null) return "diffusion_model_input_blocks_0_0" + m.group(1);
        if ((m = match(key, "lora_unet_conv_out(.*)")) != null) return "diffusion_model_out_2" + m.group(1);
        if ((m = match(key, "lora_unet_time_embedding_linear_(\\d+)(.*)")) != null) {
            return "diffusion_model_time_embed_" + (Integer.parseInt(m.group(1)) * 2 - 2) + m.group(2);
        }
        if ((m = match(key, "lora_unet_down_blocks_(\\d+)_(attentions|resnets)_(\\d+)_(.+)")) != null) {
            return "diffusion_model_input_blocks_" + (1 + i(m, 1) * 3 + i(m, 3)) + "_" + (m.group(2).equals("attentions") ? 1 : 0) + "_" + suffix(m.group(2), m.group(4));
        }
        if ((m = match(key, "lora_unet_mid_block_(attentions|resnets)_(\\d+)_(.+)")) != null) {
            return "diffusion_model_middle_block_" + (m.group(1).equals("attentions") ? 1 : i(m, 2) * 2) + "_" + suffix(m.group(1), m.group(3));
        }
        if ((m = match(key, "lora_unet_up_blocks_(\\d+)_(attentions|resnets)_(\\d+)_(.+)")) != null) {
            return "diffusion_model_output_blocks_" + (i(m, 1) * 3 + i(m, 3)) + "_" + (m.group(2).equals("attentions") ? 1 : 0) + "_" + suffix(m.group(2), m.group(4));
        }
        // re.match anchors at the start only: these two also match longer names
        if ((m = match(key, "lora_unet_down_blocks_(\\d+)_downsamplers_0_conv.*")) != null) return "diffusion_model_input_blocks_" + (3 + i(m, 1) * 3) + "_0_op";
        if ((m = match(key, "lora_unet_up_blocks_(\\d+)_upsamplers_0_conv.*")) != null) {
            return "diffusion_model_output_blocks_" + (2 + i(m, 1) * 3) + "_" + (i(m, 1) > 0 ? 2 : 1) + "_conv";
        }
        if ((m = match(key, "lora_te_text_model_encoder_layers_(\\d+)_(.+)")) != null) {
            if (sd2) return "model_transformer_resblocks_" + m.group(1) + "_" + openClip(m.group(2));
            return "transformer_text_model_encoder_layers_" + m.group(1) + "_" + m.group(2);
        }
        if ((m = match(key, "lora_te2_text_model_encoder_layers_(\\d+)_(.+)")) != null) {
            return "1_model_transformer_resblocks_" + m.group(1) + "_" + openClip(m.group(2));
        }
        return key;
    }

    private static String openClip(String rest) {
        if (rest.contains("mlp_fc1")) return rest.replace("mlp_fc1", "mlp_c_fc");
        if (rest.contains("mlp_fc2")) return rest.replace("mlp_fc2", "mlp_c_proj");
        return rest.replace("self_attn", "attn");
    }

    private static String suffix(String block, String rest) {
        return block.equals("resnets") ? RESNET_SUFFIX.getOrDefault(rest, rest) : rest;
    }

    /** Python's re.match with groups (a prefix match; the patterns here end in .+ or .* where it matters). */
    private static Matcher match(String key, String regex) {
        Matcher m = Pattern.compile(regex).matcher(key);
        return m.matches() ? m : null;
    }

    private static int i(Matcher m, int group) { return Integer.parseInt(m.group(group)); }
}
