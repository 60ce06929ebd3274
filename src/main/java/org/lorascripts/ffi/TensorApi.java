package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.F64;
import static org.lorascripts.ffi.Native.I32;
import static org.lorascripts.ffi.Native.I64;
import static org.lorascripts.ffi.Native.PTR;
import static org.lorascripts.ffi.Native.fn;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Bindings of native/ls_tensor.cpp: lifetime, creation, metadata, copies, views, indexing, devices. */
public final class TensorApi {
    private TensorApi() {}

    private static final MethodHandle FREE = fn("ls_free", PTR);
    private static final MethodHandle SHALLOW_COPY = fn("ls_shallow_copy", PTR, ADDR);
    private static final MethodHandle DIM = fn("ls_dim", PTR, ADDR);
    private static final MethodHandle SIZES = fn("ls_sizes", PTR, ADDR, I32);
    private static final MethodHandle STRIDES = fn("ls_strides", PTR, ADDR, I32);
    private static final MethodHandle SCALAR_TYPE = fn("ls_scalar_type", PTR, ADDR);
    private static final MethodHandle DEVICE_OF = fn("ls_device_of", PTR, ADDR, ADDR);
    private static final MethodHandle NUMEL = fn("ls_numel", PTR, ADDR);
    private static final MethodHandle IS_CONTIGUOUS = fn("ls_is_contiguous", PTR, ADDR);
    private static final MethodHandle DATA_PTR = fn("ls_data_ptr", PTR, ADDR);
    private static final MethodHandle ITEM_DOUBLE = fn("ls_item_double", PTR, ADDR);
    private static final MethodHandle ITEM_LONG = fn("ls_item_long", PTR, ADDR);
    private static final MethodHandle EMPTY = fn("ls_empty", ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle ZEROS = fn("ls_zeros", ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle ONES = fn("ls_ones", ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle RANDN = fn("ls_randn", ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle RAND = fn("ls_rand", ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle FULL = fn("ls_full", ADDR, I32, F64, I32, I32, I32, ADDR);
    private static final MethodHandle RANDINT = fn("ls_randint", I64, I64, ADDR, I32, I32, I32, I32, ADDR);
    private static final MethodHandle RANDPERM = fn("ls_randperm", I64, I32, I32, I32, ADDR);
    private static final MethodHandle ARANGE = fn("ls_arange", F64, F64, F64, I32, I32, I32, ADDR);
    private static final MethodHandle LINSPACE = fn("ls_linspace", F64, F64, I64, I32, I32, I32, ADDR);
    private static final MethodHandle FROM_HOST = fn("ls_from_host", ADDR, I64, ADDR, I32, I32, ADDR);
    private static final MethodHandle FROM_HOST_NOCOPY = fn("ls_from_host_nocopy", ADDR, ADDR, I32, I32, ADDR);
    private static final MethodHandle TO_HOST = fn("ls_to_host", PTR, ADDR, I64);
    private static final MethodHandle TO = fn("ls_to", PTR, I32, I32, I32, I32, I32, ADDR);
    private static final MethodHandle TO_DTYPE = fn("ls_to_dtype", PTR, I32, ADDR);
    private static final MethodHandle CLONE = fn("ls_clone", PTR, ADDR);
    private static final MethodHandle CONTIGUOUS = fn("ls_contiguous", PTR, ADDR);
    private static final MethodHandle COPY_ = fn("ls_copy_", PTR, PTR);
    private static final MethodHandle FILL_ = fn("ls_fill_", PTR, F64);
    private static final MethodHandle ZERO_ = fn("ls_zero_", PTR);
    private static final MethodHandle NORMAL_ = fn("ls_normal_", PTR, F64, F64);
    private static final MethodHandle UNIFORM_ = fn("ls_uniform_", PTR, F64, F64);
    private static final MethodHandle VIEW = fn("ls_view", PTR, ADDR, I32, ADDR);
    private static final MethodHandle RESHAPE = fn("ls_reshape", PTR, ADDR, I32, ADDR);
    private static final MethodHandle PERMUTE = fn("ls_permute", PTR, ADDR, I32, ADDR);
    private static final MethodHandle EXPAND = fn("ls_expand", PTR, ADDR, I32, ADDR);
    private static final MethodHandle REPEAT = fn("ls_repeat", PTR, ADDR, I32, ADDR);
    private static final MethodHandle FLIP = fn("ls_flip", PTR, ADDR, I32, ADDR);
    private static final MethodHandle TRANSPOSE = fn("ls_transpose", PTR, I64, I64, ADDR);
    private static final MethodHandle NARROW = fn("ls_narrow", PTR, I64, I64, I64, ADDR);
    private static final MethodHandle SLICE = fn("ls_slice", PTR, I64, I64, I64, I64, ADDR);
    private static final MethodHandle SELECT = fn("ls_select", PTR, I64, I64, ADDR);
    private static final MethodHandle SQUEEZE = fn("ls_squeeze", PTR, I64, ADDR);
    private static final MethodHandle UNSQUEEZE = fn("ls_unsqueeze", PTR, I64, ADDR);
    private static final MethodHandle FLATTEN = fn("ls_flatten", PTR, I64, I64, ADDR);
    private static final MethodHandle TRIL = fn("ls_tril", PTR, I64, ADDR);
    private static final MethodHandle TRIU = fn("ls_triu", PTR, I64, ADDR);
    private static final MethodHandle CAT = fn("ls_cat", ADDR, I32, I64, ADDR);
    private static final MethodHandle STACK = fn("ls_stack", ADDR, I32, I64, ADDR);
    private static final MethodHandle CHUNK = fn("ls_chunk", PTR, I64, I64, ADDR, I32, ADDR);
    private static final MethodHandle SPLIT_SIZES = fn("ls_split_sizes", PTR, ADDR, I32, I64, ADDR, I32, ADDR);
    private static final MethodHandle INDEX_SELECT = fn("ls_index_select", PTR, I64, PTR, ADDR);
    private static final MethodHandle GATHER = fn("ls_gather", PTR, I64, PTR, ADDR);
    private static final MethodHandle INDEX = fn("ls_index", PTR, PTR, ADDR);
    private static final MethodHandle MASKED_FILL = fn("ls_masked_fill", PTR, PTR, F64, ADDR);
    private static final MethodHandle WHERE = fn("ls_where", PTR, PTR, PTR, ADDR);
    private static final MethodHandle INDEX_PUT_ = fn("ls_index_put_", PTR, PTR, PTR, I32);
    private static final MethodHandle CUDA_AVAILABLE = fn("ls_cuda_available", ADDR);
    private static final MethodHandle CUDA_DEVICE_COUNT = fn("ls_cuda_device_count", ADDR);
    private static final MethodHandle CUDA_BF16 = fn("ls_cuda_bf16_supported", ADDR);
    private static final MethodHandle TORCH_VERSION = fn("ls_torch_version", ADDR, ADDR, ADDR);
    private static final MethodHandle SET_TF32 = fn("ls_set_tf32", I32);

    public static void setTf32(boolean on) {
        try { Status.check((int) SET_TF32.invokeExact(on ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void free(long h) { Invoke.run_h(FREE, h); }
    public static long shallowCopy(long h) { return Invoke.toH_h(SHALLOW_COPY, h); }
    public static int dim(long h) { return Invoke.int_h(DIM, h); }
    public static int scalarType(long h) { return Invoke.int_h(SCALAR_TYPE, h); }
    public static long numel(long h) { return Invoke.long_h(NUMEL, h); }
    /** The address of the tensor's first element (device memory for CUDA tensors). */
    public static long dataPtr(long h) { return Invoke.toH_h(DATA_PTR, h); }

    public static boolean isContiguous(long h) { return Invoke.int_h(IS_CONTIGUOUS, h) != 0; }

    public static long[] sizes(long h) { return dimsQuery(SIZES, h); }
    public static long[] strides(long h) { return dimsQuery(STRIDES, h); }

    private static long[] dimsQuery(MethodHandle mh, long h) {
        int n = dim(h);
        Scratch s = Scratch.get();
        MemorySegment buf = s.longs(new long[Math.max(n, 1)]);
        try { Status.check((int) mh.invokeExact(h, buf, n)); } catch (Throwable t) { throw Calls.rethrow(t); }
        long[] r = new long[n];
        MemorySegment.copy(buf, ValueLayout.JAVA_LONG, 0, r, 0, n);
        return r;
    }

    /** {type code, index}. */
    public static int[] deviceOf(long h) {
        Scratch s = Scratch.get();
        try { Status.check((int) DEVICE_OF.invokeExact(h, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new int[] {s.outInt(0), s.outInt(1)};
    }

    public static double itemDouble(long h) {
        Scratch s = Scratch.get();
        try { Status.check((int) ITEM_DOUBLE.invokeExact(h, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outDouble(0);
    }

    public static long itemLong(long h) { return Invoke.long_h(ITEM_LONG, h); }

    public static long empty(long[] dims, int dt, int devType, int devIdx) { return Invoke.toH_create(EMPTY, dims, dt, devType, devIdx); }
    public static long zeros(long[] dims, int dt, int devType, int devIdx) { return Invoke.toH_create(ZEROS, dims, dt, devType, devIdx); }
    public static long ones(long[] dims, int dt, int devType, int devIdx) { return Invoke.toH_create(ONES, dims, dt, devType, devIdx); }
    public static long randn(long[] dims, int dt, int devType, int devIdx) { return Invoke.toH_create(RANDN, dims, dt, devType, devIdx); }
    public static long rand(long[] dims, int dt, int devType, int devIdx) { return Invoke.toH_create(RAND, dims, dt, devType, devIdx); }

    public static long full(long[] dims, double v, int dt, int devType, int devIdx) {
        Scratch s = Scratch.get();
        try { Status.check((int) FULL.invokeExact(s.longs(dims), dims.length, v, dt, devType, devIdx, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long randint(long low, long high, long[] dims, int dt, int devType, int devIdx) {
        Scratch s = Scratch.get();
        try { Status.check((int) RANDINT.invokeExact(low, high, s.longs(dims), dims.length, dt, devType, devIdx, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long randperm(long n, int dt, int devType, int devIdx) {
        Scratch s = Scratch.get();
        try { Status.check((int) RANDPERM.invokeExact(n, dt, devType, devIdx, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long arange(double start, double end, double step, int dt, int devType, int devIdx) {
        Scratch s = Scratch.get();
        try { Status.check((int) ARANGE.invokeExact(start, end, step, dt, devType, devIdx, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long linspace(double start, double end, long steps, int dt, int devType, int devIdx) {
        Scratch s = Scratch.get();
        try { Status.check((int) LINSPACE.invokeExact(start, end, steps, dt, devType, devIdx, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long fromHost(MemorySegment data, long nbytes, long[] dims, int dt) {
        Scratch s = Scratch.get();
        try { Status.check((int) FROM_HOST.invokeExact(data, nbytes, s.longs(dims), dims.length, dt, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long fromHostNoCopy(MemorySegment data, long[] dims, int dt) {
        Scratch s = Scratch.get();
        try { Status.check((int) FROM_HOST_NOCOPY.invokeExact(data, s.longs(dims), dims.length, dt, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static void toHost(long h, MemorySegment data, long nbytes) {
        try { Status.check((int) TO_HOST.invokeExact(h, data, nbytes)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static long to(long h, int dt, int devType, int devIdx, boolean nonBlocking, boolean copy) {
        Scratch s = Scratch.get();
        try { Status.check((int) TO.invokeExact(h, dt, devType, devIdx, nonBlocking ? 1 : 0, copy ? 1 : 0, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long toDType(long h, int dt) { return Invoke.toH_hi(TO_DTYPE, h, dt); }
    public static long clone(long h) { return Invoke.toH_h(CLONE, h); }
    public static long contiguous(long h) { return Invoke.toH_h(CONTIGUOUS, h); }
    public static void copy_(long dst, long src) { Invoke.run_hh(COPY_, dst, src); }
    public static void fill_(long h, double v) { Invoke.run_hd(FILL_, h, v); }
    public static void zero_(long h) { Invoke.run_h(ZERO_, h); }
    public static void normal_(long h, double mean, double std) { Invoke.run_hdd(NORMAL_, h, mean, std); }
    public static void uniform_(long h, double from, double to) { Invoke.run_hdd(UNIFORM_, h, from, to); }

    public static long view(long h, long[] d) { return Invoke.toH_hdims(VIEW, h, d); }
    public static long reshape(long h, long[] d) { return Invoke.toH_hdims(RESHAPE, h, d); }
    public static long permute(long h, long[] d) { return Invoke.toH_hdims(PERMUTE, h, d); }
    public static long expand(long h, long[] d) { return Invoke.toH_hdims(EXPAND, h, d); }
    public static long repeat(long h, long[] d) { return Invoke.toH_hdims(REPEAT, h, d); }
    public static long flip(long h, long[] d) { return Invoke.toH_hdims(FLIP, h, d); }
    public static long transpose(long h, long d0, long d1) { return Invoke.toH_hll(TRANSPOSE, h, d0, d1); }
    public static long narrow(long h, long dim, long start, long len) { return Invoke.toH_hlll(NARROW, h, dim, start, len); }

    public static long slice(long h, long dim, long start, long end, long step) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) SLICE.invokeExact(h, dim, start, end, step, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long select(long h, long dim, long index) { return Invoke.toH_hll(SELECT, h, dim, index); }
    public static long squeeze(long h, long dim) { return Invoke.toH_hl(SQUEEZE, h, dim); }
    public static long unsqueeze(long h, long dim) { return Invoke.toH_hl(UNSQUEEZE, h, dim); }
    public static long flatten(long h, long start, long end) { return Invoke.toH_hll(FLATTEN, h, start, end); }
    public static long tril(long h, long diag) { return Invoke.toH_hl(TRIL, h, diag); }
    public static long triu(long h, long diag) { return Invoke.toH_hl(TRIU, h, diag); }
    public static long cat(long[] hs, long dim) { return Invoke.toH_list(CAT, hs, dim); }
    public static long stack(long[] hs, long dim) { return Invoke.toH_list(STACK, hs, dim); }

    public static long[] chunk(long h, long chunks, long dim) {
        return Invoke.toHList((int) chunks, (out, cap, n) -> (int) CHUNK.invokeExact(h, chunks, dim, out, cap, n));
    }

    public static long[] splitSizes(long h, long[] sizes, long dim) {
        MemorySegment sz = Scratch.get().longs(sizes);
        return Invoke.toHList(sizes.length, (out, cap, n) -> (int) SPLIT_SIZES.invokeExact(h, sz, sizes.length, dim, out, cap, n));
    }

    public static long indexSelect(long h, long dim, long idx) { return Invoke.toH_hlh(INDEX_SELECT, h, dim, idx); }
    public static long gather(long h, long dim, long idx) { return Invoke.toH_hlh(GATHER, h, dim, idx); }
    public static long index(long h, long idx) { return Invoke.toH_hh(INDEX, h, idx); }

    public static long maskedFill(long h, long mask, double v) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) MASKED_FILL.invokeExact(h, mask, v, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long where(long cond, long a, long b) { return Invoke.toH_hhh(WHERE, cond, a, b); }

    public static void indexPut_(long h, long idx, long values, boolean accumulate) {
        try { Status.check((int) INDEX_PUT_.invokeExact(h, idx, values, accumulate ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static boolean cudaAvailable() { return Invoke.int_(CUDA_AVAILABLE) != 0; }
    public static int cudaDeviceCount() { return Invoke.int_(CUDA_DEVICE_COUNT); }
    public static boolean cudaBf16Supported() { return Invoke.int_(CUDA_BF16) != 0; }

    /** The libtorch version the shim was compiled against, as "major.minor.patch". */
    public static String torchVersion() {
        Scratch s = Scratch.get();
        try { Status.check((int) TORCH_VERSION.invokeExact(s.outSlot(0), s.outSlot(1), s.outSlot(2))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outInt(0) + "." + s.outInt(1) + "." + s.outInt(2);
    }
}
