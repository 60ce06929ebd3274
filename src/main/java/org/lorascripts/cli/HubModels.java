package org.lorascripts.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.ConfigValues;
import org.lorascripts.config.LoadedConfig;
import org.lorascripts.hub.DownloadListener;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.hub.Hub;
import org.lorascripts.hub.HubEnvironment;
import org.lorascripts.hub.HubException;
import org.lorascripts.hub.HubId;
import org.lorascripts.train.progress.TransferProgress;

/**
 * Where the commands meet the Hub: a model named {@code org/name} (not an existing path) is fetched
 * into the shared cache and replaced by its local path, with a progress bar on stderr. The
 * environment (HF_ENDPOINT, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, ...) is the process's unless a test set
 * another.
 */
final class HubModels {
    private HubModels() {}

    /** The standard WD14 tagger, as kohya's tag_images_by_wd14_tagger.py downloads it by default. */
    static final String DEFAULT_TAGGER = "SmilingWolf/wd-v1-4-convnext-tagger-v2";
    /** The BLIP captioner kohya's make_captions.py uses (the large ViT). */
    static final String DEFAULT_CAPTIONER = "Salesforce/blip-image-captioning-large";
    /** The config keys that name a model. */
    static final List<String> MODEL_KEYS = List.of("base_model", "vae", "network_weights");

    private static volatile Map<String, String> environment;

    /** Tests: the variables to use instead of the process environment (null: the process's again). */
    static void useEnvironment(Map<String, String> env) { environment = env; }

    static HubEnvironment environment() {
        Map<String, String> env = environment;
        return HubEnvironment.from(env != null ? env : System.getenv(), Path.of(System.getProperty("user.home")));
    }

    static Hub hub(PrintStream progress) {
        return new Hub(environment(), listener(progress));
    }

    /** {@code name} itself when it is builtin:, an existing path or no Hub id; else the fetched model's local path. */
    static String local(String name, FileSelection selection) {
        return hub(System.err).resolve(name, Path.of("").toAbsolutePath(), selection).map(Path::toString).orElse(name);
    }

    /**
     * {@code --set KEY=PATH} overrides that replace the config's Hub ids (base_model, vae,
     * network_weights) by the fetched models; empty when the config names none. The config reader
     * resolved every value against its folder, so a Hub id arrives as a path that does not exist.
     */
    static List<String> configOverrides(LoadedConfig loaded) {
        ConfigValues v = loaded.values();
        List<String> out = new ArrayList<>();
        Hub hub = null;
        for (String key : MODEL_KEYS) {
            if (!v.isSet(key)) continue;
            Object value = v.get(key);
            Path p = value instanceof BaseModel.Local l ? l.path() : value instanceof Path q ? q : null;
            if (p == null || Files.exists(p)) continue;
            Path base = v.origin(key).isOverride() ? Path.of("").toAbsolutePath() : v.baseDir();
            if (!p.startsWith(base)) continue;
            Optional<HubId> id = HubId.parse(base.relativize(p).toString().replace('\\', '/'));
            if (id.isEmpty()) continue;
            if (hub == null) hub = hub(System.err);
            try {
                out.add(key + "=" + hub.fetch(id.get(), FileSelection.AUTO));
            } catch (HubException e) {
                String m = e.getMessage();   // most messages begin with the repository already
                throw new HubException(v.origin(key) + ": " + key + " " + (m.startsWith(id.get().repo()) ? m : id.get() + ": " + m), e);
            }
        }
        return out;
    }

    static DownloadListener listener(PrintStream out) {
        return new DownloadListener() {
            private TransferProgress bar;

            @Override public synchronized void started(String what, int files, long bytes) {
                out.printf(Locale.ROOT, "downloading %s: %d file%s%s into %s%n", what, files, files == 1 ? "" : "s",
                        bytes >= 0 ? String.format(Locale.ROOT, ", %.1f MiB", bytes / (double) (1 << 20)) : "", environment().cacheDir());
                out.flush();
                bar = TransferProgress.create("download", bytes, out);
            }

            @Override public void transferred(long bytes) {
                TransferProgress b;
                synchronized (this) { b = bar; }
                if (b != null) b.add(bytes);
            }

            @Override public synchronized void note(String message) {
                out.println("note: " + message);
                out.flush();
            }

            @Override public synchronized void finished(boolean complete) {
                if (bar != null && complete) bar.close();
                else if (bar != null) bar.abandon();   // the error line says what happened
                bar = null;
            }
        };
    }
}
