package org.lorascripts.models.sd.load;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.tensor.DType;

/** A tensor source of names and shapes only (a checkpoint's header without its data), for shape inference tests. */
final class ShapeOnlyTensors implements TensorSource {
    private final Map<String, long[]> shapes;

    ShapeOnlyTensors(Map<String, long[]> shapes) { this.shapes = new LinkedHashMap<>(shapes); }

    @Override public List<String> names() { return new ArrayList<>(shapes.keySet()); }

    @Override public boolean contains(String name) { return shapes.containsKey(name); }

    @Override public TensorInfo info(String name) {
        long[] s = shapes.get(name);
        if (s == null) throw new NoSuchElementException(name);
        long n = 1;
        for (long d : s) n *= d;
        return new TensorInfo(name, DType.F32, s, 0, n * 4);
    }

    @Override public MemorySegment data(String name) { throw new UnsupportedOperationException("shapes only: " + name); }

    @Override public Map<String, String> metadata() { return Map.of(); }

    @Override public void close() {}
}
