package org.lorascripts.tensor;

import org.lorascripts.ffi.NativeCodes;
import java.util.Locale;

/** A device: {@code cpu} or {@code cuda:N}. Type codes are c10::DeviceType values, checked at load. */
public record Device(Type type, int index) {
    public enum Type {
        CPU("cpu"), CUDA("cuda");
        public final int code;
        Type(String nativeName) { this.code = NativeCodes.deviceType(nativeName); }
    }

    public static final Device CPU = new Device(Type.CPU, -1);

    public static Device cuda(int index) { return new Device(Type.CUDA, index); }

    public boolean isCuda() { return type == Type.CUDA; }

    /** Parses {@code cpu}, {@code cuda} (= cuda:0) and {@code cuda:N}. */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("cuda") || t.equals("gpu")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                int i = Integer.parseInt(t.substring(5));
                if (i >= 0) return cuda(i);
            } catch (NumberFormatException ignored) { /* fall through */ }
        }
        throw new IllegalArgumentException("unknown device '" + s + "' (use cpu, cuda or cuda:N)");
    }

    static Device fromCodes(int type, int index) {
        if (type == Type.CPU.code) return CPU;
        if (type == Type.CUDA.code) return cuda(Math.max(index, 0));
        throw new IllegalArgumentException("unsupported device type code " + type);
    }

    @Override public String toString() { return type == Type.CPU ? "cpu" : "cuda:" + index; }
}
