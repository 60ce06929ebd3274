package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LycorisAdapter;
import org.lorascripts.lora.LycorisFiles;
import org.lorascripts.config.NetworkType;
import java.util.Arrays;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.train.TrainingException;

/**
 * {@code network_weights}: continue training from an existing kohya LoRA file by copying its
 * lora_down / lora_up (and a DoRA's dora_scale) into the freshly injected adapters (as kohya's {@code load_weights}, which is
 * not strict either: targets the file lacks keep their fresh initialisation). The file's modules must
 * all be trained by this config and have its rank and alpha, otherwise the continued run would
 * silently be another network.
 */
final class NetworkWeights {
    private NetworkWeights() {}

    /**
     * Copies the file into the networks, each found under the kohya names its part is written with
     * (so an SDXL file's LDM-named UNet keys meet the diffusers-named adapters); returns how many
     * adapters the file did not cover.
     */
    static int loadInto(Path file, List<KohyaLoraWriter.Part> parts) throws IOException {
        if (LycorisFiles.isLycoris(file)) {
            throw new TrainingException(file + ": network_weights is a LyCORIS LoHa/LoKr file; set network_type: "
                    + lycorisAlgo(file) + " (and its rank and alpha) to continue it");
        }
        Map<String, LoraAdapter> byName = new LinkedHashMap<>();
        for (KohyaLoraWriter.Part p : parts) {
            for (var a : p.network().adapters().entrySet()) byName.put(p.loraName(a.getKey()), a.getValue());
        }
        try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(file)) {
            List<String> unknown = new ArrayList<>();
            for (String name : f.modules().keySet()) if (!byName.containsKey(name)) unknown.add(name);
            if (!unknown.isEmpty()) throw new TrainingException(file + ": network_weights has " + unknown.size() + " modules this config does not train, e.g. "
                    + unknown.getFirst() + "; " + hint(unknown));
            for (KohyaLoraReader.Module m : f.modules().values()) {
                LoraAdapter a = byName.get(m.loraName());
                if (m.rank() != a.rank() || Math.abs(m.alpha() - a.alpha()) > 1e-6 * Math.max(1, Math.abs(a.alpha()))) {
                    boolean conv = a.down().dim() == 4 && (a.down().size(2) > 1 || a.down().size(3) > 1);
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " has rank " + m.rank() + " and alpha "
                            + m.alpha() + ", but this config trains rank " + a.rank() + " and alpha " + a.alpha() + "; set "
                            + (conv ? "conv_rank: " + m.rank() + " and conv_alpha: " : "lora_rank: " + m.rank() + " and lora_alpha: ") + m.alpha()
                            + " to continue it");
                }
                if ((m.doraScale() != null) != (a.magnitude() != null)) {
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " is " + (m.doraScale() != null ? "a DoRA (dora_scale)"
                            : "a plain LoRA") + "; set use_dora: " + (m.doraScale() != null) + " to continue it");
                }
                if (m.doraScale() != null && !java.util.Arrays.equals(m.doraScale().shape(), a.magnitude().shape())) {
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " has dora_scale "
                            + java.util.Arrays.toString(m.doraScale().shape()) + ", but this config trains " + java.util.Arrays.toString(a.magnitude().shape())
                            + " (per input channel, LyCORIS wd_on_output=False)");
                }
                if (m.down().numel() != a.down().numel() || m.up().numel() != a.up().numel()) {
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " has other shapes than the model's module;"
                            + " the LoRA was made for another base model");
                }
            }
            try (var ng = Autograd.noGrad()) {
                for (KohyaLoraReader.Module m : f.modules().values()) {
                    LoraAdapter a = byName.get(m.loraName());
                    a.down().copy_(m.down().reshape(a.down().shape()));
                    a.up().copy_(m.up().reshape(a.up().shape()));
                    if (a.magnitude() != null) a.magnitude().copy_(m.doraScale());
                }
            }
            return byName.size() - f.modules().size();
        } catch (IllegalArgumentException e) {
            throw new TrainingException("network_weights " + e.getMessage(), e);
        }
    }

    /**
     * network_weights for LoHa / LoKr: copies a LyCORIS file's tensors into the injected adapters. The file must be of
     * the configured type, and each module must have the same tensors (so the same rank, factor and full/low-rank
     * choice) and alpha as the config makes; targets the file lacks keep their fresh initialisation.
     */
    static int loadLycorisInto(Path file, List<LycorisFiles.Part> parts, NetworkType type) throws IOException {
        if (!LycorisFiles.isLycoris(file)) {
            throw new TrainingException(file + ": network_weights is a plain LoRA file but network_type is " + type.configName()
                    + "; set network_type: lora to continue it");
        }
        Map<String, LycorisAdapter> byName = new LinkedHashMap<>();
        for (LycorisFiles.Part p : parts) {
            for (var a : p.network().adapters().entrySet()) byName.put(p.loraName(a.getKey()), a.getValue());
        }
        try (LycorisFiles.LycorisFile f = LycorisFiles.read(file)) {
            if (!f.algo().algo().equals(type.algo())) {
                throw new TrainingException(file + ": network_weights is a " + f.algo().algo() + " file but network_type is " + type.configName()
                        + "; set network_type: " + f.algo().algo() + " to continue it");
            }
            List<String> unknown = new ArrayList<>();
            for (String name : f.modules().keySet()) if (!byName.containsKey(name)) unknown.add(name);
            if (!unknown.isEmpty()) throw new TrainingException(file + ": network_weights has " + unknown.size() + " modules this config does not train, e.g. "
                    + unknown.getFirst() + "; " + hint(unknown));
            for (LycorisFiles.Module m : f.modules().values()) {
                LycorisAdapter a = byName.get(m.loraName());
                StringBuilder fileShapes = new StringBuilder(), ourShapes = new StringBuilder();
                for (var t : m.tensors().entrySet()) fileShapes.append(' ').append(t.getKey()).append(Arrays.toString(t.getValue().shape()));
                for (var t : a.tensors().entrySet()) ourShapes.append(' ').append(t.getKey()).append(Arrays.toString(t.getValue().shape()));
                boolean same = m.tensors().keySet().equals(a.tensors().keySet());
                for (var t : m.tensors().entrySet()) same &= same && Arrays.equals(t.getValue().shape(), a.tensors().get(t.getKey()).shape());
                if (!same) {
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " has" + fileShapes + ", but this config makes"
                            + ourShapes + "; set lora_rank / conv_rank (and for lokr network_args factor, decompose_both) as the file was trained");
                }
                double alpha = m.alpha() == null ? a.alpha() : m.alpha();
                if (Math.abs(alpha - a.alpha()) > 1e-6 * Math.max(1, Math.abs(a.alpha()))) {
                    throw new TrainingException(file + ": network_weights module " + m.loraName() + " has alpha " + alpha + ", but this config trains alpha "
                            + a.alpha() + "; set lora_alpha (or conv_alpha for a convolution) to " + alpha + " to continue it");
                }
            }
            try (var ng = Autograd.noGrad()) {
                for (LycorisFiles.Module m : f.modules().values()) {
                    LycorisAdapter a = byName.get(m.loraName());
                    for (var t : m.tensors().entrySet()) a.tensors().get(t.getKey()).copy_(t.getValue());
                }
            }
            return byName.size() - f.modules().size();
        } catch (IllegalArgumentException e) {
            throw new TrainingException("network_weights " + e.getMessage(), e);
        }
    }

    private static String lycorisAlgo(Path file) throws IOException {
        try (LycorisFiles.LycorisFile f = LycorisFiles.read(file)) {
            return f.algo().algo();
        } catch (IllegalArgumentException e) {
            return "loha or lokr";
        }
    }

    private static String hint(List<String> unknown) {
        // lora_te_, and SDXL's lora_te1_ / lora_te2_
        boolean te = unknown.stream().anyMatch(n -> n.startsWith(KohyaLoraWriter.PREFIX_TEXT_ENCODER));
        // diffusers' resnet and sampler names, and the LDM ones of SDXL's UNet
        boolean resnet = unknown.stream().anyMatch(n -> n.contains("_resnets_") || n.contains("samplers_") || n.matches(
                ".*_(in_layers_2|out_layers_3|emb_layers_1|skip_connection|0_op|[12]_conv)$"));
        if (te) return "set train_text_encoder: true to continue its text-encoder part";
        if (resnet) return "it is a LoCon: set conv_rank (and conv_alpha) to continue it";
        return "is it a LoRA for another base model?";
    }
}
