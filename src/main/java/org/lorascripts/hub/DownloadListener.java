package org.lorascripts.hub;

/**
 * Hears how a download goes, to draw a progress bar. Called from several download threads at once;
 * {@link #transferred} may be negative when a server ignored a resume request and the bytes come again.
 */
public interface DownloadListener {
    /** Files are about to be fetched: {@code files} of them, {@code bytes} in all (−1 when unknown). */
    void started(String what, int files, long bytes);

    void transferred(long bytes);

    /** The last file is in place ({@code complete}), or the download failed. */
    void finished(boolean complete);

    /** Something the user should know, e.g. that the cache was used because the Hub could not be reached. */
    default void note(String message) {}

    DownloadListener SILENT = new DownloadListener() {
        @Override public void started(String what, int files, long bytes) {}
        @Override public void transferred(long bytes) {}
        @Override public void finished(boolean complete) {}
    };
}
