package org.lorascripts.lora;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.Json;
import org.lorascripts.io.PickleFiles;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Folds a PEFT LoRA adapter into its base model and writes a full HF model folder: every other
 * file of the base folder (config.json, generation_config.json, tokenizer files, ...) copied,
 * weights as {@code model.safetensors} in each tensor's stored dtype, or shards of at most
 * {@link #MAX_SHARD_BYTES} with {@code model.safetensors.index.json} as save_pretrained writes them.
 * Adapted weights become W + (B @ A) * scale (a DoRA: m ⊙ (W + ΔW) / ‖W + ΔW‖ per output row), computed in fp32 (f64 for f64 weights). Tensors are
 * merged one at a time while being written, so memory stays near one tensor. The folder is
 * written atomically. Reference: PEFT's LoraLayer.merge / get_delta_weight (tuners/lora/layer.py).
 */
public final class MergedModelWriter {
    /** save_pretrained's default max_shard_size ("5GB", decimal). */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;

    private MergedModelWriter() {}

    public static void write(Path baseDir, Path adapterDir, Path outDir) throws IOException { write(baseDir, adapterDir, outDir, MAX_SHARD_BYTES); }

    /** As {@link #write(Path, Path, Path)} with a given shard size (for tests). */
    public static void write(Path baseDir, Path adapterDir, Path outDir, long maxShardBytes) throws IOException {
        Path weightsFile = weightsFile(baseDir);
        try (PeftAdapter adapter = PeftAdapterReader.read(adapterDir); TensorSource base = TensorSource.open(weightsFile)) {
            Map<String, String> adapted = new LinkedHashMap<>();   // weight name -> module
            for (String module : adapter.modules().keySet()) {
                String w = module + ".weight";
                if (!base.contains(w)) {
                    throw new IllegalArgumentException(adapterDir + " adapts '" + module + "', but " + weightsFile + " has no tensor " + w
                            + "; is this adapter for this base model (" + adapter.config().baseModelNameOrPath() + ")?");
                }
                long[] shape = base.info(w).shape();
                PeftAdapter.Pair pair = adapter.modules().get(module);
                if (shape.length != 2 || pair.a().size(1) != shape[1] || pair.b().size(0) != shape[0]) {
                    // checked before writing anything: a wrong adapter should fail at once, not after gigabytes
                    throw new IllegalArgumentException(adapterDir + " adapts '" + module + "' with lora_A " + java.util.Arrays.toString(pair.a().shape())
                            + " and lora_B " + java.util.Arrays.toString(pair.b().shape()) + ", which do not fit " + w + " "
                            + java.util.Arrays.toString(shape) + " in " + weightsFile + "; is this adapter for this base model ("
                            + adapter.config().baseModelNameOrPath() + ")?");
                }
                adapted.put(w, module);
            }
            org.lorascripts.io.FileTrees.writeDirectory(outDir, tmp -> {
                copyOtherFiles(baseDir, tmp);
                writeWeights(base, adapter, adapted, tmp, maxShardBytes);
            });
        }
    }

    private static Path weightsFile(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) return index;
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return single;
        throw new IOException(dir + ": no model.safetensors or model.safetensors.index.json (only safetensors base models can be merged)");
    }

    /** Everything but the weights: config, generation config, tokenizer files, README, ... */
    private static void copyOtherFiles(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
                // the base's pickles (pytorch_model.bin, ...) hold the unmerged weights too: they must not come along
                boolean weights = n.endsWith(".safetensors") || PickleFiles.isPickle(f)
                        || n.endsWith(".gguf") || n.endsWith(".index.json") || n.equals("expected.safetensors");
                if (Files.isRegularFile(f) && !weights) Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static void writeWeights(TensorSource base, PeftAdapter adapter, Map<String, String> adapted, Path dir, long maxShard) throws IOException {
        // 1. plan shards in the base's tensor order
        List<List<TensorInfo>> shards = new ArrayList<>();
        List<TensorInfo> current = new ArrayList<>();
        long currentBytes = 0, total = 0;
        for (String name : base.names()) {
            TensorInfo info = base.info(name);
            if (!current.isEmpty() && currentBytes + info.byteLength() > maxShard) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(info);
            currentBytes += info.byteLength();
            total += info.byteLength();
        }
        shards.add(current);
        // 2. write each shard; adapted tensors are merged as they are streamed out
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String file = shards.size() == 1 ? "model.safetensors"
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "pt");
            for (TensorInfo info : shards.get(i)) {
                String name = info.name();
                String module = adapted.get(name);
                if (module == null) w.add(name, info.dtype(), info.shape(), base.data(name));
                else w.add(name, info.dtype(), info.shape(), out -> writeMerged(base, info, adapter, module, out));
                weightMap.put(name, file);
            }
            w.write(dir.resolve(file));
        }
        // 3. the index, when sharded
        if (shards.size() > 1) {
            Json.writePrettyFile(dir.resolve("model.safetensors.index.json"),
                    Json.object("metadata", Json.object("total_size", total), "weight_map", Json.object(weightMap)));
        }
    }

    /** W + (B @ A) * scale (DoRA: rescaled per row) in the stored dtype, streamed little-endian. */
    private static void writeMerged(TensorSource base, TensorInfo info, PeftAdapter adapter, String module, WritableByteChannel out) throws IOException {
        DType stored = info.dtype();
        DType math = stored == DType.F64 ? DType.F64 : DType.F32;
        PeftAdapter.Pair p = adapter.modules().get(module);
        if (p.a().size(1) != info.shape()[1] || p.b().size(0) != info.shape()[0]) {
            throw new IllegalArgumentException(module + ": adapter shapes " + java.util.Arrays.toString(p.a().shape()) + " / "
                    + java.util.Arrays.toString(p.b().shape()) + " do not fit the base weight " + java.util.Arrays.toString(info.shape()));
        }
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            Tensor w = Torch.wrapSegment(base.data(info.name()), stored, info.shape()).to(math);
            Tensor delta = p.b().to(math).matmul(p.a().to(math)).mul(adapter.scale(module));            // (out, in)
            Tensor sum = w.add(delta);
            if (p.magnitude() != null) {
                // DoRA (PEFT's DoraLinearVariant.merge): m / ‖W + ΔW‖ per output row, times W + ΔW
                Tensor c = p.magnitude().to(math).div(LoraAdapter.weightNorm(sum, LoraAdapter.Decomposition.OUTPUT));
                sum = sum.mul(c.reshape(-1, 1));
            }
            Tensor merged = sum.to(stored, Device.CPU).contiguous();
            long bytes = merged.numel() * stored.byteSize;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = arena.allocate(Math.max(bytes, 1), 8).asSlice(0, bytes);
                merged.copyTo(seg);
                for (long off = 0; off < bytes; off += 1L << 30) {
                    ByteBuffer buf = seg.asSlice(off, Math.min(1L << 30, bytes - off)).asByteBuffer();
                    while (buf.hasRemaining()) out.write(buf);
                }
            }
        }
    }
}
