package org.lorascripts.nn;

/** A tensor the model needs is not in the checkpoint. */
public class MissingWeightException extends IllegalArgumentException {
    public MissingWeightException(String message) { super(message); }
}
