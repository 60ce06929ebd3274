package org.lorascripts.train.progress;

/**
 * Compact durations for progress output: "36s", "4m05s", "1:02:03" (hours are not wrapped into days,
 * so a long run reads "27:00:00"). Unknown or infinite durations print as "?".
 */
public final class EtaFormat {
    private EtaFormat() {}

    public static String seconds(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format("%dm%02ds", s / 60, s % 60);
        }
        return String.format("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }
}
