package org.lorascripts.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The procedural, captioned image world the built-in tiny SD model is pretrained on: one to three
 * flat shapes (circle, square, triangle, diamond, star, ring, cross) in twelve colours, three sizes and
 * five positions on a plain background, with captions such as "a red circle on a blue background",
 * "two small green stars on a white background" or "a large yellow ring on a black background, at the
 * top". Every scene is a pure function of (seed, index), so the data regenerates bit for bit.
 *
 * <p>Shapes are drawn from signed distance functions with one pixel of anti-aliasing. The
 * {@link Style#OUTLINE} style (thick black outlines on white) is what the image quickstart's LoRA
 * teaches: the base model never sees outlines.
 */
public final class ShapeScenes {
    private ShapeScenes() {}

    /** How shapes are painted. */
    public enum Style {
        /** Flat colour on a plain background (the pretraining data). */
        PLAIN,
        /** Flat colour with a thick black outline on white, whatever the caption's background (the quickstart LoRA's style). */
        OUTLINE
    }

    public record Colour(String name, int r, int g, int b) {}

    public static final List<Colour> COLOURS = List.of(
            new Colour("red", 220, 40, 40), new Colour("orange", 245, 140, 30), new Colour("yellow", 245, 215, 40),
            new Colour("green", 40, 165, 70), new Colour("blue", 40, 80, 220), new Colour("purple", 140, 55, 185),
            new Colour("pink", 245, 135, 185), new Colour("cyan", 40, 200, 215), new Colour("white", 245, 245, 245),
            new Colour("black", 20, 20, 20), new Colour("brown", 130, 80, 40), new Colour("grey", 128, 128, 128));

    public static final List<String> SHAPES = List.of("circle", "square", "triangle", "diamond", "star", "ring", "cross");

    /** Where a single shape sits; the empty phrase is the centre. */
    public static final List<String> POSITIONS = List.of("", "on the left", "on the right", "at the top", "at the bottom");

    public static final List<String> SIZES = List.of("small", "", "large");

    /** The paper and ink of {@link Style#OUTLINE}: colours the VAE knows, so the LoRA's target is one it can draw. */
    static final Colour PAPER = new Colour("paper", 245, 245, 245), INK = new Colour("ink", 20, 20, 20);

    /** One shape: kind, colour, centre (fractions of the side) and radius (fraction of the side). */
    public record Shape(String kind, Colour colour, double cx, double cy, double radius, double angle) {}

    /** A scene and its caption. */
    public record Scene(Colour background, List<Shape> shapes, String caption) {}

    /**
     * Scene {@code index} of the pretraining world of {@code seed}. About one caption in ten leaves the
     * background out (its colour is then random), so prompts without one work too.
     */
    public static Scene scene(long seed, long index) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        int count = r.nextInt(10) < 7 ? 1 : r.nextInt(2) + 2;      // 70 % one shape, else two or three
        Colour colour = COLOURS.get(r.nextInt(COLOURS.size()));
        Colour bg;
        do {
            bg = COLOURS.get(r.nextInt(COLOURS.size()));
        } while (bg.equals(colour) || tooClose(bg, colour));
        String kind = SHAPES.get(r.nextInt(SHAPES.size()));
        String size = SIZES.get(r.nextInt(SIZES.size()));
        double base = switch (size) {
            case "small" -> 0.13;
            case "large" -> count == 1 ? 0.36 : 0.2;
            default -> count == 1 ? 0.24 : 0.16;
        };
        List<Shape> shapes = new ArrayList<>();
        String position = "";
        if (count == 1) {
            position = POSITIONS.get(r.nextInt(POSITIONS.size()));
            double off = Math.max(0.5 - base - 0.06, 0.0);
            double cx = 0.5, cy = 0.5;
            switch (position) {
                case "on the left" -> cx = 0.5 - off;
                case "on the right" -> cx = 0.5 + off;
                case "at the top" -> cy = 0.5 - off;
                case "at the bottom" -> cy = 0.5 + off;
                default -> { }
            }
            double jitter = 0.04;
            shapes.add(new Shape(kind, colour, cx + (r.nextDouble() - 0.5) * jitter, cy + (r.nextDouble() - 0.5) * jitter,
                    base * (0.9 + 0.2 * r.nextDouble()), angle(r, kind)));
        } else {
            for (int tries = 0; shapes.size() < count && tries < 200; tries++) {
                double rad = base * (0.9 + 0.2 * r.nextDouble());
                double cx = rad + 0.03 + r.nextDouble() * (1 - 2 * rad - 0.06);
                double cy = rad + 0.03 + r.nextDouble() * (1 - 2 * rad - 0.06);
                boolean free = true;
                for (Shape s : shapes) free &= Math.hypot(s.cx() - cx, s.cy() - cy) > s.radius() + rad + 0.02;
                if (free) shapes.add(new Shape(kind, colour, cx, cy, rad, angle(r, kind)));
            }
            count = shapes.size();
        }
        boolean saysBackground = r.nextInt(10) != 0;
        StringBuilder c = new StringBuilder();
        c.append(count == 1 ? (startsWithVowel(size.isEmpty() ? colour.name() : size) ? "an" : "a") : count == 2 ? "two" : "three");
        if (!size.isEmpty()) c.append(' ').append(size);
        c.append(' ').append(colour.name()).append(' ').append(kind).append(count > 1 ? plural(kind) : "");
        if (saysBackground) c.append(" on a").append(startsWithVowel(bg.name()) ? "n " : " ").append(bg.name()).append(" background");
        if (!position.isEmpty()) c.append(saysBackground ? ", " : " ").append(position);
        return new Scene(bg, List.copyOf(shapes), c.toString());
    }

    /**
     * A single centred shape in {@link Style#OUTLINE}: the quickstart's training images. The caption
     * names shape and colour and ends with the trigger words "outline style".
     */
    public static Scene outlineScene(String colourName, String kind, double radius) {
        Colour colour = COLOURS.stream().filter(c -> c.name().equals(colourName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown colour " + colourName));
        String article = startsWithVowel(colourName) ? "an" : "a";
        return new Scene(PAPER, List.of(new Shape(kind, colour, 0.5, 0.5, radius, 0)),
                article + " " + colourName + " " + kind + ", outline style");
    }

    private static double angle(SplittableRandom r, String kind) {
        return kind.equals("circle") || kind.equals("ring") ? 0 : (r.nextDouble() - 0.5) * 0.5;   // ±14°
    }

    private static boolean tooClose(Colour a, Colour b) {
        int d = Math.abs(a.r() - b.r()) + Math.abs(a.g() - b.g()) + Math.abs(a.b() - b.b());
        return d < 90;
    }

    private static boolean startsWithVowel(String w) { return "aeiou".indexOf(w.charAt(0)) >= 0; }

    private static String plural(String kind) { return kind.equals("cross") ? "es" : "s"; }

    /** Renders a scene as interleaved RGB bytes (size × size × 3). */
    public static byte[] render(Scene scene, int size, Style style) {
        byte[] out = new byte[size * size * 3];
        double ink = 0.08;                                         // outline width, fraction of the side
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double px = (x + 0.5) / size, py = (y + 0.5) / size;
                Colour bg = style == Style.OUTLINE ? PAPER : scene.background();
                double r = bg.r(), g = bg.g(), b = bg.b();
                for (Shape s : scene.shapes()) {
                    double d = distance(s, px, py) * size;        // signed distance in pixels, < 0 inside
                    double fill = clamp01(0.5 - d);
                    r += (s.colour().r() - r) * fill;
                    g += (s.colour().g() - g) * fill;
                    b += (s.colour().b() - b) * fill;
                    if (style == Style.OUTLINE) {
                        double line = clamp01(0.5 - (Math.abs(d) - ink * size / 2));
                        r += (INK.r() - r) * line;
                        g += (INK.g() - g) * line;
                        b += (INK.b() - b) * line;
                    }
                }
                int o = (y * size + x) * 3;
                out[o] = (byte) Math.round(r);
                out[o + 1] = (byte) Math.round(g);
                out[o + 2] = (byte) Math.round(b);
            }
        }
        return out;
    }

    /** Signed distance from (px, py) to the shape's edge, in fractions of the side (negative inside). */
    static double distance(Shape s, double px, double py) {
        double cos = Math.cos(s.angle()), sin = Math.sin(s.angle());
        double dx = px - s.cx(), dy = py - s.cy();
        double x = dx * cos + dy * sin, y = -dx * sin + dy * cos;  // shape frame
        double rad = s.radius();
        return switch (s.kind()) {
            case "circle" -> Math.hypot(x, y) - rad;
            case "ring" -> Math.abs(Math.hypot(x, y) - rad * 0.72) - rad * 0.28;
            case "square" -> box(x, y, rad * 0.82, rad * 0.82);
            case "cross" -> Math.min(box(x, y, rad, rad * 0.3), box(x, y, rad * 0.3, rad));
            case "diamond" -> polygon(x, y, new double[] {0, rad * 0.75, 0, -rad * 0.75}, new double[] {-rad, 0, rad, 0});
            case "triangle" -> polygon(x, y, regular(3, rad, 0, true), regular(3, rad, 0, false));
            case "star" -> polygon(x, y, star(rad, true), star(rad, false));
            default -> throw new IllegalArgumentException("unknown shape " + s.kind());
        };
    }

    private static double box(double x, double y, double hx, double hy) {
        double qx = Math.abs(x) - hx, qy = Math.abs(y) - hy;
        return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
    }

    /** Vertices of a regular n-gon pointing up, x or y coordinates. */
    private static double[] regular(int n, double rad, double phase, boolean xs) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            double a = -Math.PI / 2 + phase + 2 * Math.PI * i / n;
            v[i] = (xs ? Math.cos(a) : Math.sin(a)) * rad * (n == 3 ? 1.1 : 1);
        }
        if (n == 3 && !xs) for (int i = 0; i < n; i++) v[i] += rad * 0.2;   // centre the triangle's area
        return v;
    }

    private static double[] star(double rad, boolean xs) {
        double[] v = new double[10];
        for (int i = 0; i < 10; i++) {
            double a = -Math.PI / 2 + Math.PI * i / 5;
            double rr = i % 2 == 0 ? rad * 1.1 : rad * 0.45;
            v[i] = (xs ? Math.cos(a) : Math.sin(a)) * rr;
        }
        return v;
    }

    /** Exact signed distance to a simple polygon (the even-odd rule gives the sign). */
    private static double polygon(double px, double py, double[] vx, double[] vy) {
        int n = vx.length;
        double d = (px - vx[0]) * (px - vx[0]) + (py - vy[0]) * (py - vy[0]);
        double sign = 1;
        for (int i = 0, j = n - 1; i < n; j = i, i++) {
            double ex = vx[j] - vx[i], ey = vy[j] - vy[i];
            double wx = px - vx[i], wy = py - vy[i];
            double t = clamp01((wx * ex + wy * ey) / (ex * ex + ey * ey));
            double bx = wx - ex * t, by = wy - ey * t;
            d = Math.min(d, bx * bx + by * by);
            boolean c1 = py >= vy[i], c2 = py < vy[j], c3 = ex * wy > ey * wx;
            if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sign = -sign;
        }
        return sign * Math.sqrt(d);
    }

    private static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
}
