package org.lorascripts.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Recognizes kohya sd-scripts' folder layout: a train_data_dir (or reg_data_dir) whose sub-folders are
 * named {@code N_name}. As kohya does, a folder is a subset when its name up to the first underscore is
 * an integer N >= 1; other sub-folders are ignored with a warning, and so are images directly in the
 * root (kohya reads only the subsets). A folder with no {@code N_name} sub-folder is a plain folder.
 */
public final class KohyaLayout {
    private static final Pattern SUBSET = Pattern.compile("(\\d+)_(.*)", Pattern.DOTALL);

    private KohyaLayout() {}

    /** The subsets of {@code root} in name order, or empty when it is a plain folder. */
    public static Optional<List<KohyaSubset>> detect(Path root, boolean reg, Consumer<String> warn) {
        if (!Files.isDirectory(root)) return Optional.empty();
        List<Path> dirs = subfolders(root);
        List<KohyaSubset> subsets = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            int repeats = repeats(name);
            if (repeats > 0) {
                subsets.add(new KohyaSubset(d, name, repeats, name.substring(name.indexOf('_') + 1), reg));
            } else {
                ignored.add(name);
            }
        }
        if (subsets.isEmpty()) return Optional.empty();
        String key = reg ? "reg_data_dir" : "train_data_dir";
        for (String name : ignored) {
            warn.accept("ignored folder '" + name + "' in " + key + " '" + root + "': not named N_name with N >= 1"
                    + " (the kohya layout reads only its N_name subsets, as kohya does)");
        }
        List<String> loose = ImageFiles.list(root).stream().filter(n -> n.indexOf('/') < 0).toList();
        if (!loose.isEmpty()) {
            warn.accept("ignored " + loose.size() + " image" + (loose.size() == 1 ? "" : "s") + " directly in " + key + " '"
                    + root + "' (" + ImageCaptionScan.firstFew(loose) + "): the kohya layout reads only N_name subsets;"
                    + " move them into one");
        }
        return Optional.of(List.copyOf(subsets));
    }

    /** N of a folder named "N_name", 0 when the name is not of that form. */
    static int repeats(String folder) {
        Matcher m = SUBSET.matcher(folder);
        if (!m.matches()) return 0;
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static List<Path> subfolders(Path root) {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new DatasetException("cannot list " + root + " (" + e.getMessage() + ")");
        }
    }

    /**
     * kohya's repeats of each regularization image (train_util.py, {@code DreamBoothDataset.__init__}):
     * walking the reg images in order, the first pass registers each with its subset's repeats until the
     * count reaches {@code trainImages} (images x repeats of the train subsets); later passes add one
     * repeat per image, in order, until it does. Images the first pass never reached get 0.
     */
    public static int[] regRepeats(int[] subsetRepeats, long trainImages) {
        int[] r = new int[subsetRepeats.length];
        if (r.length == 0) return r;
        long n = 0;
        boolean first = true;
        while (n < trainImages) {
            for (int i = 0; i < r.length; i++) {
                if (first) {
                    r[i] = subsetRepeats[i];
                    n += r[i];
                } else {
                    r[i]++;
                    n++;
                }
                if (n >= trainImages) break;
            }
            first = false;
        }
        return r;
    }
}
