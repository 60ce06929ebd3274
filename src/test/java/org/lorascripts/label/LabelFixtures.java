package org.lorascripts.label;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.lorascripts.io.PngWriter;

/** Shared test inputs: the committed tiny tagger and solid-colour PNGs written on the fly. */
public final class LabelFixtures {
    private LabelFixtures() {}

    public static Path resource(String name) {
        try {
            return Path.of(LabelFixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** tools/fixtures/make_tiny_tagger.py's model: 8x8 input, outputs sigmoid(mean(BGR)/255 @ W + b). */
    static Path tinyTagger() {
        return resource("tiny-tagger");
    }

    /** Same table as TAGS in make_tiny_tagger.py: weights on the (B, G, R) means and bias per output. */
    static final double[][] WEIGHTS_BGR = {
            {0, 0, 0}, {0, 0, 0}, {-3, -3, 6}, {6, -3, -3}, {-3, 5, -3}, {1, 1, 1}, {3, 3, -6}, {0, 0, 0}, {0, 0, 2}};
    static final double[] BIAS = {2.0, -2.0, -1.5, -1.5, -1.25, -1.7, -1.5, 0.25, -1.0};

    /** The fixture model's formula evaluated in double precision on a preprocessed (8, 8, 3) BGR input. */
    static double[] tinyTaggerProbabilities(float[] bgr) {
        double[] mean = new double[3];
        for (int i = 0; i < bgr.length; i++) mean[i % 3] += bgr[i] / 255.0;
        for (int c = 0; c < 3; c++) mean[c] /= bgr.length / 3.0;
        double[] p = new double[BIAS.length];
        for (int t = 0; t < p.length; t++) {
            double logit = BIAS[t];
            for (int c = 0; c < 3; c++) logit += WEIGHTS_BGR[t][c] * mean[c];
            p[t] = 1 / (1 + Math.exp(-logit));
        }
        return p;
    }

    static void solidPng(Path file, int width, int height, int rgb) throws IOException {
        byte[] px = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) {
            px[i * 3] = (byte) (rgb >> 16);
            px[i * 3 + 1] = (byte) (rgb >> 8);
            px[i * 3 + 2] = (byte) rgb;
        }
        PngWriter.write(file, px, width, height, PngWriter.Channels.RGB);
    }
}
