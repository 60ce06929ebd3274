package org.lorascripts.text;

/**
 * A piece of a rendered conversation. {@code target} pieces (an assistant answer and its
 * end-of-turn marker) are what the loss trains on; the rest is context, masked out.
 */
public record ChatSegment(String text, boolean target) {}
