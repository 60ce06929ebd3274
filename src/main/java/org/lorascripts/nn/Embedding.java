package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/** A frozen lookup table (V, D). */
public final class Embedding {
    private final Tensor weight;

    public Embedding(Weights w, long vocab, long dim) { this.weight = w.get("weight", vocab, dim); }

    public Tensor forward(Tensor ids) { return Functional.embedding(weight, ids, -1); }

    public Tensor weight() { return weight; }
}
