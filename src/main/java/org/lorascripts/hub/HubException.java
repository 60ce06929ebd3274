package org.lorascripts.hub;

/**
 * A model could not be fetched from the Hub or found in its cache: a one-line message that says what
 * went wrong (not found, gated, offline, network, checksum) and what to do.
 */
public class HubException extends RuntimeException {
    public HubException(String message) { super(message); }

    public HubException(String message, Throwable cause) { super(message, cause); }
}
