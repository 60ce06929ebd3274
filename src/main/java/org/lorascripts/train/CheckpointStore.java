package org.lorascripts.train;

import org.lorascripts.io.FileTrees;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checkpoints of a run: {@code output_dir/checkpoints/step-N/}. A checkpoint is written into
 * {@code step-N.tmp-<random>/}, every file forced to disk, and the folder renamed to {@code step-N};
 * so a folder named {@code step-N} is always complete, a kill at any moment leaves the previous
 * one untouched, and leftovers of an interrupted save are {@code .tmp-} folders, ignored and removed
 * at the next start. Deleting old checkpoints renames them to a temp name first for the same reason.
 */
public final class CheckpointStore {
    public static final String DIR = "checkpoints";
    static final String STATE_TENSORS = "trainer_state.safetensors";
    private static final Pattern NAME = Pattern.compile("step-(\\d+)");

    /** Writes the content of a checkpoint into an empty folder. */
    @FunctionalInterface
    interface Contents {
        void writeTo(Path dir) throws IOException;
    }

    /** A complete checkpoint on disk. */
    public record Checkpoint(long step, Path dir) {}

    private final Path root;

    public CheckpointStore(Path outputDir) {
        this.root = outputDir.resolve(DIR);
    }

    public Path root() { return root; }

    static String dirName(long step) { return "step-" + step; }

    Path dirOf(long step) { return root.resolve(dirName(step)); }

    /** Creates the folder, or says in one line why output_dir cannot hold this run. */
    static void requireWritable(Path outputDir) {
        try {
            Files.createDirectories(outputDir.resolve(DIR));
            Path probe = Files.createTempFile(outputDir, ".write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new TrainingException("output_dir " + outputDir + " is not writable (" + FileTrees.describe(e)
                    + "); set output_dir to a folder you can write to, or fix its permissions");
        }
    }

    /** Removes leftovers of saves or deletions that were interrupted; returns how many. */
    int removeStrayTemps() throws IOException {
        int n = 0;
        if (!Files.isDirectory(root)) return 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                if (FileTrees.isTemp(p)) {
                    FileTrees.deleteTree(p);
                    n++;
                }
            }
        }
        return n;
    }

    /** Complete checkpoints, oldest first. Temp folders and unrelated files are ignored. */
    public List<Checkpoint> list() throws IOException {
        List<Checkpoint> r = new ArrayList<>();
        if (!Files.isDirectory(root)) return r;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (m.matches() && isComplete(p)) r.add(new Checkpoint(Long.parseLong(m.group(1)), p));
            }
        }
        r.sort(Comparator.comparingLong(Checkpoint::step));
        return r;
    }

    public Optional<Checkpoint> latest() throws IOException {
        List<Checkpoint> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    static boolean isComplete(Path dir) {
        return Files.isRegularFile(dir.resolve(TrainerState.FILE_NAME)) && Files.isRegularFile(dir.resolve(STATE_TENSORS));
    }

    /** The checkpoint folder {@code --resume} names, or a one-line error saying what is wrong. */
    Path resolve(Resume resume) throws IOException {
        return switch (resume) {
            case Resume.None n -> throw new IllegalArgumentException("no resume requested");
            case Resume.Latest l -> latest().map(Checkpoint::dir).orElseThrow(() -> new TrainingException(
                    "--resume latest: no complete checkpoint in " + root + "; start without --resume, or give a checkpoint folder"));
            case Resume.From f -> {
                Path p = f.checkpoint();
                if (!Files.isDirectory(p)) {
                    throw new TrainingException("--resume " + p + ": no such checkpoint folder; give a " + DIR + "/step-N folder or 'latest'");
                }
                if (!isComplete(p)) {
                    throw new TrainingException("--resume " + p + ": not a complete checkpoint (needs " + TrainerState.FILE_NAME
                            + " and " + STATE_TENSORS + "); give a " + DIR + "/step-N folder or 'latest'");
                }
                yield p;
            }
        };
    }

    /**
     * Writes checkpoint {@code step} atomically and returns its folder. On failure the temp folder
     * is removed, any earlier checkpoint is untouched, and a {@link TrainingException} names the
     * folder and the cause.
     */
    Path save(long step, Contents contents) {
        Path target = dirOf(step);
        Path tmp = FileTrees.tempSibling(target);
        try {
            try {
                Files.createDirectories(tmp);
                contents.writeTo(tmp);
                FileTrees.fsyncTree(tmp);
                FileTrees.replace(tmp, target);
            } finally {
                FileTrees.deleteTree(tmp);
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof TrainingException t) throw t;
            String previous;
            try {
                previous = latest().map(c -> "; the last good checkpoint is " + c.dir()).orElse("");
            } catch (IOException ignored) {
                previous = "";
            }
            throw new TrainingException("could not save checkpoint " + target + ": " + FileTrees.describe(e)
                    + previous + "; free disk space or fix the folder, then resume with --resume latest", e);
        }
        return target;
    }

    /**
     * Keeps the newest {@code limit} checkpoints (all when 0), and always {@code keepStep} (the best
     * one; -1 for none). Returns the deleted steps.
     */
    List<Long> prune(int limit, long keepStep) throws IOException {
        List<Long> deleted = new ArrayList<>();
        if (limit <= 0) return deleted;
        List<Checkpoint> all = list();
        for (int i = 0; i < all.size() - limit; i++) {
            Checkpoint c = all.get(i);
            if (c.step() == keepStep) continue;
            Path gone = FileTrees.tempSibling(c.dir());
            Files.move(c.dir(), gone);  // leave the name first: a half-deleted step-N must never look complete
            FileTrees.deleteTree(gone);
            deleted.add(c.step());
        }
        return deleted;
    }
}
