package org.lorascripts.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A folder of camera-sized JPEGs with captions, for timing the image pipeline (decode, resize, prefetch) as a
 * dataset of unprepared photos loads it: {@code PhotoFolder DIR COUNT WIDTH HEIGHT}. Each image is smooth shapes
 * plus noise (JPEG-compressed like a photo, not a flat colour), seeded by its index.
 */
public final class PhotoFolder {
    private PhotoFolder() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: PhotoFolder DIR COUNT WIDTH HEIGHT");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]), w = Integer.parseInt(args[2]), h = Integer.parseInt(args[3]);
        Files.createDirectories(dir);
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
            try {
                write(dir, i, w, h);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        System.out.println("wrote " + n + " photos of " + w + "x" + h + " to " + dir);
    }

    private static void write(Path dir, int i, int w, int h) throws IOException {
        Random r = new Random(i);
        double fx = 20 + r.nextInt(60), fy = 20 + r.nextInt(60), phase = r.nextDouble() * 6;
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double v = Math.sin(x / fx + phase) * Math.cos(y / fy) + 0.3 * Math.sin((x + y) / 7.0);
                int c = (int) (128 + 90 * v) + r.nextInt(17) - 8;
                c = Math.max(0, Math.min(255, c));
                px[y * w + x] = c << 16 | (255 - c) << 8 | (c * (i + 1) & 0xFF);
            }
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, w, h, px, 0, w);
        String name = String.format("photo-%03d", i);
        ImageIO.write(img, "jpg", dir.resolve(name + ".jpg").toFile());
        Files.writeString(dir.resolve(name + ".txt"), "a photo, pattern " + (i % 5));
    }
}
