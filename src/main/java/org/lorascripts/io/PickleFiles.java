package org.lorascripts.io;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Python pickle weight files ({@code .ckpt}, {@code .pt}, {@code .bin}, ...). Unpickling runs whatever
 * code the file carries, so lora-scripts never opens one; every reader that takes a weights path refuses
 * them by this one list and words the refusal with {@link #refusal}, so the user reads the same sentence
 * whichever command met the file.
 */
public final class PickleFiles {
    private PickleFiles() {}

    /** Lower-case extensions that PyTorch (torch.save), diffusers/transformers (.bin) and WebUI (.ckpt) use for pickles. */
    public static final List<String> EXTENSIONS = List.of(".ckpt", ".pt", ".pth", ".bin", ".pkl");

    /** The pickle extension {@code file}'s name ends with (case-insensitive), or empty for any other file. */
    public static Optional<String> extension(Path file) {
        Path name = file.getFileName();
        if (name == null) return Optional.empty();
        String lower = name.toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().filter(lower::endsWith).findFirst();
    }

    public static boolean isPickle(Path file) {
        return extension(file).isPresent();
    }

    /**
     * The refusal of one pickle file, on one line.
     *
     * @param subject the file as the user named it (a path, or an option and a path)
     * @param ext its extension, from {@link #extension}
     * @param howToConvert a way to convert it that fits what the file holds (a checkpoint, a LoRA, a model folder)
     */
    public static String refusal(String subject, String ext, String howToConvert) {
        return subject + ": " + ext + " files are Python pickles, which can run arbitrary code when loaded; lora-scripts reads"
                + " only .safetensors. Convert it to .safetensors once, where you trust the file: " + howToConvert;
    }

    /** A conversion for a file that holds a flat dict of tensors (a LoRA, most .pt/.bin weight files). */
    public static String tensorDictConversion(Path file) {
        Path name = file.getFileName();
        return "python -c \"import torch, safetensors.torch as st; st.save_file(torch.load('" + (name == null ? file : name)
                + "'), 'out.safetensors')\"";
    }
}
