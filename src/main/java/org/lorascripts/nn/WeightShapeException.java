package org.lorascripts.nn;

/** A checkpoint tensor's shape differs from what the model configuration expects. */
public class WeightShapeException extends IllegalArgumentException {
    public WeightShapeException(String message) { super(message); }
}
