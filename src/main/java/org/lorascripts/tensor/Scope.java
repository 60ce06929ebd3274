package org.lorascripts.tensor;

import java.util.ArrayList;

/**
 * Deterministic release of native tensors. While a scope is the innermost open one on its thread,
 * every tensor created on that thread belongs to it and is freed when it closes, except tensors
 * that were {@link Tensor#keep() kept} (the caller owns them) or {@link #moveToOuter moved out}.
 * Scopes nest; they are thread-confined. Tensors created outside any scope (e.g. parameters) are
 * owned by the caller, with a Cleaner only as a safety net.
 *
 * <pre>{@code
 * try (Scope s = Scope.open()) {
 *     Tensor loss = model.loss(batch);   // intermediates belong to s
 *     loss.backward();
 *     return s.moveToOuter(loss.detach());
 * }                                      // everything else is freed here
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread thread;
    private final ArrayList<Tensor> owned = new ArrayList<>();
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
        this.thread = Thread.currentThread();
    }

    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    static Scope current() { return CURRENT.get(); }

    void adopt(Tensor t) { owned.add(t); }

    /** Hands a tensor to the enclosing scope (or to the caller when there is none) and returns it. */
    public Tensor moveToOuter(Tensor t) {
        if (t.owner() != this) throw new IllegalStateException("tensor is not owned by this scope");
        t.setOwner(null);
        if (parent != null) {
            t.setOwner(parent);
            parent.adopt(t);
        } else {
            t.registerCleaner();
        }
        return t;
    }

    /**
     * Runs {@code body} in a scope of its own and keeps only its result: every temporary it made is
     * freed at once. Tensors autograd saved for backward stay alive through the graph's own
     * references, so this gives eager PyTorch's memory profile (temporaries die when unreferenced)
     * instead of holding every intermediate of a forward pass until the outer scope closes.
     */
    public static Tensor scoped(java.util.function.Supplier<Tensor> body) {
        try (Scope s = open()) {
            Tensor out = body.get();
            return out.owner() == s ? s.moveToOuter(out) : out;
        }
    }

    /**
     * One link of a chain {@code h = f(h)} of blocks: {@code f(h)} runs {@link #scoped in a scope of its own}
     * and then {@code h} is closed, unless it is {@code input} (the caller's tensor) or the result itself.
     * A sequence of blocks then holds one activation between blocks instead of all of them (autograd's
     * saved tensors live on through the graph, so this is safe with gradients too).
     */
    public static Tensor chain(Tensor h, Tensor input, java.util.function.UnaryOperator<Tensor> f) {
        Tensor out = scoped(() -> f.apply(h));
        if (h != input && h != out) h.close();
        return out;
    }

    /** Number of tensors this scope still owns (for tests and diagnostics). */
    public int ownedCount() {
        int n = 0;
        for (Tensor t : owned) if (t.owner() == this && !t.isClosed()) n++;
        return n;
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) throw new IllegalStateException("a scope must be closed on the thread that opened it");
        if (CURRENT.get() != this) throw new IllegalStateException("scopes must be closed innermost first");
        closed = true;
        CURRENT.set(parent);
        RuntimeException first = null;
        for (int i = owned.size() - 1; i >= 0; i--) {
            Tensor t = owned.get(i);
            if (t.owner() != this) continue;  // kept or moved out
            try {
                t.freeFromScope();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        owned.clear();
        if (first != null) throw first;
    }
}
