package org.lorascripts.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShapeScenesTest {
    @Test void scenesArePureFunctionsOfSeedAndIndex() {
        for (int i = 0; i < 20; i++) {
            ShapeScenes.Scene a = ShapeScenes.scene(7, i), b = ShapeScenes.scene(7, i);
            assertEquals(a, b);
            assertArrayEquals(ShapeScenes.render(a, 32, ShapeScenes.Style.PLAIN), ShapeScenes.render(b, 32, ShapeScenes.Style.PLAIN));
        }
        assertNotEquals(ShapeScenes.scene(7, 0), ShapeScenes.scene(8, 0));
    }

    @Test void captionsNameWhatIsDrawn() {
        Set<String> kinds = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            ShapeScenes.Scene s = ShapeScenes.scene(3, i);
            ShapeScenes.Shape first = s.shapes().getFirst();
            String c = s.caption();
            assertTrue(c.contains(first.colour().name() + " " + first.kind()), c);
            if (c.contains(" background")) assertTrue(c.contains(s.background().name() + " background"), c);
            int n = s.shapes().size();
            assertTrue(n == 1 ? c.startsWith("a ") || c.startsWith("an ") : c.startsWith(n == 2 ? "two " : "three "), c);
            assertNotEquals(first.colour(), s.background(), c);
            kinds.add(first.kind());
        }
        assertEquals(Set.copyOf(ShapeScenes.SHAPES), kinds, "every shape occurs");
    }

    @Test void aCentredCircleIsItsColourInsideAndTheBackgroundOutside() {
        ShapeScenes.Colour red = ShapeScenes.COLOURS.getFirst(), blue = ShapeScenes.COLOURS.get(4);
        var scene = new ShapeScenes.Scene(blue, java.util.List.of(new ShapeScenes.Shape("circle", red, 0.5, 0.5, 0.25, 0)), "a red circle");
        byte[] px = ShapeScenes.render(scene, 64, ShapeScenes.Style.PLAIN);
        assertArrayEquals(new int[] {red.r(), red.g(), red.b()}, rgb(px, 64, 32, 32));
        assertArrayEquals(new int[] {blue.r(), blue.g(), blue.b()}, rgb(px, 64, 2, 2));
        byte[] outlined = ShapeScenes.render(scene, 64, ShapeScenes.Style.OUTLINE);
        int[] edge = rgb(outlined, 64, 32, 16);                   // on the circle's edge (radius 16 px)
        assertTrue(edge[0] < 60 && edge[1] < 60 && edge[2] < 60, "a dark outline: " + java.util.Arrays.toString(edge));
        assertArrayEquals(new int[] {ShapeScenes.PAPER.r(), ShapeScenes.PAPER.g(), ShapeScenes.PAPER.b()}, rgb(outlined, 64, 2, 2),
                "the outline style replaces the background");
    }

    @Test void everyShapeCoversAPlausibleArea() {
        ShapeScenes.Colour white = ShapeScenes.COLOURS.get(8), black = ShapeScenes.COLOURS.get(9);
        for (String kind : ShapeScenes.SHAPES) {
            var scene = new ShapeScenes.Scene(black, java.util.List.of(new ShapeScenes.Shape(kind, white, 0.5, 0.5, 0.3, 0)), kind);
            byte[] px = ShapeScenes.render(scene, 64, ShapeScenes.Style.PLAIN);
            double covered = 0;
            for (int i = 0; i < px.length; i += 3) covered += (px[i] & 0xFF) > 128 ? 1 : 0;
            double fraction = covered / (64 * 64);
            assertTrue(fraction > 0.08 && fraction < 0.4, kind + " covers " + fraction);
        }
    }

    private static int[] rgb(byte[] px, int size, int x, int y) {
        int o = (y * size + x) * 3;
        return new int[] {px[o] & 0xFF, px[o + 1] & 0xFF, px[o + 2] & 0xFF};
    }
}
