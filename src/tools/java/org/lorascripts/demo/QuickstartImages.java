package org.lorascripts.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.PngWriter;

/**
 * Writes the image quickstart's training set ({@code examples/quickstart_data/}): twelve 64×64
 * shapes in {@link ShapeScenes.Style#OUTLINE} (thick black outlines on white, a style
 * {@code builtin:tiny-sd} never saw) and their captions in {@code metadata.csv}. Deterministic.
 */
public final class QuickstartImages {
    private QuickstartImages() {}

    /** (colour, shape) of each image; the star appears only in yellow, so "a green star" tests generalisation. */
    static final List<String[]> ITEMS = List.of(
            new String[] {"red", "circle"}, new String[] {"blue", "square"}, new String[] {"green", "triangle"},
            new String[] {"yellow", "star"}, new String[] {"purple", "diamond"}, new String[] {"orange", "ring"},
            new String[] {"pink", "cross"}, new String[] {"cyan", "circle"}, new String[] {"brown", "square"},
            new String[] {"grey", "triangle"}, new String[] {"black", "diamond"}, new String[] {"white", "ring"});

    public static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("file_name,text\n");
        int size = TinySdPretrainer.IMAGE_SIZE;
        for (String[] item : ITEMS) {
            ShapeScenes.Scene scene = ShapeScenes.outlineScene(item[0], item[1], 0.3);
            String file = item[0] + "_" + item[1] + ".png";
            PngWriter.write(dir.resolve(file), ShapeScenes.render(scene, size, ShapeScenes.Style.OUTLINE), size, size, PngWriter.Channels.RGB);
            csv.append(file).append(",\"").append(scene.caption()).append("\"\n");
        }
        Files.writeString(dir.resolve("metadata.csv"), csv.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + ITEMS.size() + " images and metadata.csv to " + dir);
    }
}
