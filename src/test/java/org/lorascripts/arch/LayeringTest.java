package org.lorascripts.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The layers of docs/ARCHITECTURE.md, checked on the compiled product classes (tests and tools are
 * not part of it): a package may use only packages of a strictly lower layer, so packages of one
 * layer stay independent of each other and nothing calls upward.
 */
class LayeringTest {
    /** Top-level package under org.lorascripts → its layer (higher calls lower, never the reverse). */
    static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("ffi", 0),
            Map.entry("tensor", 1),
            Map.entry("config", 2), Map.entry("io", 2),
            // hub (models from the Hugging Face Hub) reads its listings through io.Json; tasks and cli call it
            Map.entry("nn", 3), Map.entry("text", 3), Map.entry("hub", 3), Map.entry("track", 3),
            // dist (process groups over c10d) works on tensors; train's data-parallel hook and cli's launcher use it
            Map.entry("dist", 3),
            Map.entry("lora", 4), Map.entry("data", 4), Map.entry("train", 4), Map.entry("models", 4),
            Map.entry("label", 5),
            Map.entry("tasks", 6),
            // gui (the web app of ./lora gui) uses config for the form and validation; it starts training as a
            // child process of the CLI, so it needs nothing above it, and cli's gui command starts it
            Map.entry("gui", 7),
            Map.entry("cli", 8));

    private static final String ROOT = "org.lorascripts.";

    @Test
    void noProductClassUsesAPackageOfItsOwnOrAHigherLayer() {
        JavaClasses product = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.lorascripts");
        assertTrue(product.size() > 300, "expected the whole product, imported " + product.size() + " classes");
        List<String> violations = violations(product);
        assertEquals(List.of(), violations, "dependencies that run against the layers:\n" + String.join("\n", violations));
    }

    @Test
    void everyProductPackageHasALayer() {
        JavaClasses product = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.lorascripts");
        TreeSet<String> unknown = new TreeSet<>();
        for (JavaClass c : product) {
            String top = topPackage(c.getPackageName());
            if (top != null && !LAYERS.containsKey(top)) unknown.add(top);
        }
        assertEquals(new TreeSet<>(), unknown, "give these packages a layer here and in docs/ARCHITECTURE.md");
    }

    @Test
    void anUpwardOrSidewaysDependencyIsFound() {
        JavaClasses fixtures = new ClassFileImporter().importClasses(UpwardFixtures.NnUsesCli.class,
                UpwardFixtures.DataUsesTrain.class, org.lorascripts.cli.Main.class, org.lorascripts.train.StopSignal.class);
        List<String> found = violations(fixtures);
        assertFalse(found.isEmpty(), "the check missed the fixtures' dependencies");
        assertTrue(found.stream().anyMatch(v -> v.contains("NnUsesCli") && v.contains("org.lorascripts.cli.Main")), found.toString());
        assertTrue(found.stream().anyMatch(v -> v.contains("DataUsesTrain") && v.contains("StopSignal")), found.toString());
    }

    static List<String> violations(JavaClasses classes) {
        List<String> out = new ArrayList<>();
        for (JavaClass c : classes) {
            String from = layerPackage(c);
            if (from == null || !LAYERS.containsKey(from)) continue;
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String to = topPackage(d.getTargetClass().getPackageName());
                if (to == null || to.equals(from) || !LAYERS.containsKey(to)) continue;
                if (LAYERS.get(to) >= LAYERS.get(from)) {
                    out.add(from + " (layer " + LAYERS.get(from) + ") -> " + to + " (layer " + LAYERS.get(to) + "): "
                            + d.getDescription());
                }
            }
        }
        return out.stream().distinct().sorted().toList();
    }

    /** The fixtures pose as product classes of the package their name says. */
    private static String layerPackage(JavaClass c) {
        if (c.getName().contains("UpwardFixtures$")) {
            return c.getSimpleName().startsWith("Nn") ? "nn" : "data";
        }
        return topPackage(c.getPackageName());
    }

    private static String topPackage(String pkg) {
        if (!pkg.startsWith(ROOT)) return null;
        String rest = pkg.substring(ROOT.length());
        int dot = rest.indexOf('.');
        return dot < 0 ? rest : rest.substring(0, dot);
    }
}
