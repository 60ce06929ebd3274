package org.lorascripts.lora;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Writes LoRA networks as kohya sd-scripts does ({@code networks/lora.py}, {@code LoRANetwork.save_weights}),
 * so AUTOMATIC1111 and ComfyUI load the file: per module
 * {@code <prefix>_<module path with '.' → '_'>.lora_down.weight}, {@code .lora_up.weight} and {@code .alpha}
 * (a 0-dim tensor), and for a DoRA {@code .dora_scale} as LyCORIS saves it ((1, in[, 1, 1]) for the
 * per-input-channel form WebUI applies, (out, 1[, 1, 1]) per output), every tensor cast to the save dtype; metadata as given plus
 * {@code sshs_model_hash} and {@code sshs_legacy_hash}, computed as kohya's
 * {@code train_util.precalculate_safetensors_hashes}: the file is serialised with only the {@code ss_*}
 * metadata, the model hash is the sha256 of everything after its header, the legacy hash the first 8 hex
 * digits of the sha256 of its bytes [1 MiB, 1 MiB + 64 KiB). Reference:
 * https://github.com/kohya-ss/sd-scripts/blob/main/networks/lora.py and library/train_util.py
 */
public final class KohyaLoraWriter {
    public static final String PREFIX_UNET = "lora_unet";
    /** The single text encoder of SD 1.x / 2.x. */
    public static final String PREFIX_TEXT_ENCODER = "lora_te";
    /** SDXL's two text encoders. */
    public static final String PREFIX_TEXT_ENCODER1 = "lora_te1";
    public static final String PREFIX_TEXT_ENCODER2 = "lora_te2";

    private static final long LEGACY_OFFSET = 0x100000, LEGACY_LENGTH = 0x10000;

    private KohyaLoraWriter() {}

    /**
     * One model's network, its kohya prefix ({@link #PREFIX_UNET}, {@link #PREFIX_TEXT_ENCODER}, ...) and
     * how a module name of the network becomes the module name kohya writes after the prefix. That is
     * the network's own name for SD 1.x / 2.x; SDXL's UNet is written in LDM names, which only the
     * model family knows, so the caller passes the mapping in (null: the module has no kohya name).
     */
    public record Part(String prefix, LoraNetwork network, UnaryOperator<String> kohyaModule) {
        public Part(String prefix, LoraNetwork network) { this(prefix, network, UnaryOperator.identity()); }

        /** The full kohya name of one of the network's modules; fails for a module the mapping has no name for. */
        public String loraName(String module) { return KohyaLoraWriter.loraName(prefix, kohyaModule, module); }
    }

    public record Hashes(String modelHash, String legacyHash) {}

    /** kohya's module name: {@code lora_te} + {@code text_model.encoder.layers.0.self_attn.q_proj} → {@code lora_te_text_model_encoder_layers_0_self_attn_q_proj}. */
    public static String loraName(String prefix, String module) { return prefix + "_" + module.replace('.', '_'); }

    /** The same after mapping the module name ({@link Part#kohyaModule}); fails when the mapping gives none. */
    public static String loraName(String prefix, UnaryOperator<String> kohyaModule, String module) {
        String mapped = kohyaModule.apply(module);
        if (mapped == null) throw new IllegalArgumentException("module " + module + " has no kohya name under " + prefix);
        return loraName(prefix, mapped);
    }

    /**
     * Writes the networks atomically to {@code file} in {@code dtype} (f16, bf16 or f32) and returns the
     * hashes added to the metadata.
     */
    public static Hashes write(Path file, List<Part> parts, DType dtype, Map<String, String> metadata) throws IOException {
        checkSaveDtype(dtype);
        return writeStored(file, collect(parts, dtype), dtype, metadata);
    }

    /**
     * Writes modules given as tensors (kohya shapes: down (r, in[, kh, kw]), up (out, r[, 1, 1]), and their
     * alpha), as {@link #write} does: atomically, every tensor in {@code dtype}, with the hashes.
     */
    public static Hashes writeModules(Path file, List<KohyaLoraReader.Module> modules, DType dtype, Map<String, String> metadata) throws IOException {
        checkSaveDtype(dtype);
        Map<String, Stored> tensors = new TreeMap<>();
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            for (KohyaLoraReader.Module m : modules) {
                if (tensors.containsKey(m.loraName() + ".alpha")) throw new IllegalArgumentException("module " + m.loraName() + " is given twice");
                tensors.put(m.loraName() + ".lora_down.weight", stored(m.down(), dtype));
                tensors.put(m.loraName() + ".lora_up.weight", stored(m.up(), dtype));
                tensors.put(m.loraName() + ".alpha", stored(Torch.scalar(m.alpha()), dtype));
            }
        }
        return writeStored(file, tensors, dtype, metadata);
    }

    /** Fails unless {@code dtype} is one kohya files are saved in (f16, bf16, f32). */
    static void checkSaveDtype(DType dtype) {
        if (dtype != DType.F16 && dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("save precision must be fp16, bf16 or fp32, got " + dtype.displayName());
        }
    }

    /**
     * Writes the tensors atomically in {@code dtype}, with the metadata and kohya's hashes (taken over the
     * tensors and the training (ss_*) metadata only) added; shared by the LoRA and LyCORIS writers.
     */
    static Hashes writeStored(Path file, Map<String, Stored> tensors, DType dtype, Map<String, String> metadata) throws IOException {
        // 1. hashes over the file as kohya serialises it for hashing: training (ss_*) metadata only
        SafetensorsWriter forHash = new SafetensorsWriter();
        for (var e : metadata.entrySet()) if (e.getKey().startsWith("ss_")) forHash.putMetadata(e.getKey(), e.getValue());
        tensors.forEach((name, t) -> forHash.add(name, dtype, t.shape(), t.bytes()));
        Hashes hashes = hash(forHash);

        // 2. the file itself, with all metadata and the hashes
        SafetensorsWriter out = new SafetensorsWriter();
        out.putMetadata(metadata);
        out.putMetadata("sshs_model_hash", hashes.modelHash());
        out.putMetadata("sshs_legacy_hash", hashes.legacyHash());
        tensors.forEach((name, t) -> out.add(name, dtype, t.shape(), t.bytes()));
        out.write(file);
        return hashes;
    }

    /** A tensor as written: its shape and its bytes in the save precision. */
    record Stored(long[] shape, byte[] bytes) {}

    private static Map<String, Stored> collect(List<Part> parts, DType dtype) {
        Map<String, Stored> tensors = new TreeMap<>();
        Map<String, String> owners = new LinkedHashMap<>();
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            for (Part p : parts) {
                for (var e : p.network().adapters().entrySet()) {
                    String name = p.loraName(e.getKey());
                    claim(owners, name, p.prefix(), e.getKey());
                    LoraAdapter a = e.getValue();
                    tensors.put(name + ".lora_down.weight", stored(a.down(), dtype));
                    tensors.put(name + ".lora_up.weight", stored(a.up(), dtype));
                    tensors.put(name + ".alpha", stored(Torch.scalar(a.alpha()), dtype));
                    if (a.magnitude() != null) tensors.put(name + ".dora_scale", stored(doraScale(a), dtype));
                }
            }
        }
        return tensors;
    }

    /** The magnitude in LyCORIS' stored shape: INPUT as kept, (1, in[, 1, 1]); OUTPUT as (out, 1[, 1, 1]). */
    private static Tensor doraScale(LoraAdapter a) {
        if (a.decomposition() == LoraAdapter.Decomposition.INPUT) return a.magnitude();
        return a.magnitude().reshape(a.kind() == org.lorascripts.nn.LoraHost.Kind.LINEAR ? new long[] {-1, 1} : new long[] {-1, 1, 1, 1});
    }

    /** Records that {@code prefix:module} is stored as {@code name}; fails when another module already is. */
    static void claim(Map<String, String> owners, String name, String prefix, String module) {
        String clash = owners.put(name, prefix + ":" + module);
        if (clash != null) {
            throw new IllegalArgumentException("modules " + clash + " and " + prefix + ":" + module + " both map to the kohya name " + name);
        }
    }

    /** {@code t} converted to {@code dtype} on the CPU, as bytes to write. */
    static Stored stored(Tensor t, DType dtype) {
        Tensor c = t.detach().to(dtype, Device.CPU).contiguous();
        long bytes = c.numel() * dtype.byteSize;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(bytes, 1), 8);
            c.copyTo(seg.asSlice(0, bytes));
            return new Stored(t.shape(), seg.asSlice(0, bytes).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** The two addnet hashes of what {@code w} would write. */
    static Hashes hash(SafetensorsWriter w) throws IOException {
        HashingChannel ch = new HashingChannel();
        w.writeTo(ch);
        return ch.hashes();
    }

    /** sha256 of the bytes after the header, and of the legacy window, in one streaming pass. */
    private static final class HashingChannel implements WritableByteChannel {
        private final MessageDigest model = sha256(), legacy = sha256();
        private final ByteBuffer lengthPrefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long position;
        private long dataStart = Long.MAX_VALUE;

        @Override public int write(ByteBuffer src) {
            int n = src.remaining();
            long start = position, end = position + n;
            for (int i = 0; lengthPrefix.hasRemaining() && i < n; i++) lengthPrefix.put(src.get(src.position() + i));
            if (!lengthPrefix.hasRemaining() && dataStart == Long.MAX_VALUE) dataStart = 8 + lengthPrefix.getLong(0);
            update(model, src, start, end, dataStart, Long.MAX_VALUE);
            update(legacy, src, start, end, LEGACY_OFFSET, LEGACY_OFFSET + LEGACY_LENGTH);
            src.position(src.limit());
            position = end;
            return n;
        }

        /** Feeds the part of src (covering file bytes [start, end)) that falls in [from, to). */
        private static void update(MessageDigest md, ByteBuffer src, long start, long end, long from, long to) {
            long lo = Math.max(start, from), hi = Math.min(end, to);
            if (lo >= hi) return;
            ByteBuffer part = src.duplicate();
            part.position(src.position() + (int) (lo - start));
            part.limit(src.position() + (int) (hi - start));
            md.update(part);
        }

        Hashes hashes() {
            return new Hashes(HexFormat.of().formatHex(model.digest()), HexFormat.of().formatHex(legacy.digest()).substring(0, 8));
        }

        @Override public boolean isOpen() { return true; }

        @Override public void close() {}
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }
}
