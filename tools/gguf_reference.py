#!/usr/bin/env python3
"""GGUF reference for src/test/java/org/lorascripts/io/gguf/GgufWriterTest.java, with the gguf package
(ggml's Python GGUFWriter / GGUFReader, gguf 0.19 in the test environment).

    /tmp/ptenv/bin/python3 tools/gguf_reference.py write src/test/resources/gguf/reference_adapter.gguf
        writes the fixture: a LoRA adapter header (general.architecture, general.type, adapter.type,
        adapter.lora.alpha, general.name) and three small tensors in f32, f16 and bf16 whose values are
        the formulas the Java test uses too.
    /tmp/ptenv/bin/python3 tools/gguf_reference.py read FILE.gguf
        reads any GGUF file with GGUFReader and prints its metadata and tensors (name, type, shape in
        PyTorch order, the first values as float), to check a file our writer made.
"""
import sys

import numpy as np
import gguf


def tensors():
    """name, ggml type, numpy shape, values (float64) -- the same formulas as GgufWriterTest."""
    a = np.array([i * 0.25 - 2 for i in range(16)]).reshape(2, 8)
    b = np.array([(i - 8) / 16 for i in range(16)]).reshape(8, 2)
    c = np.array([(i % 5) - 2.5 for i in range(24)]).reshape(2, 12)
    return [
        ("blk.0.attn_q.weight.lora_a", gguf.GGMLQuantizationType.F32, a),
        ("blk.0.attn_q.weight.lora_b", gguf.GGMLQuantizationType.F16, b),
        ("blk.0.ffn_down.weight.lora_a", gguf.GGMLQuantizationType.BF16, c),
    ]


def to_bf16_bytes(x):
    f = x.astype(np.float32).view(np.uint32)
    # round to nearest even, as torch's float -> bfloat16 conversion
    rounded = ((f + 0x7FFF + ((f >> 16) & 1)) >> 16).astype(np.uint16)
    return rounded


def write(path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 16.0)
    w.add_name("tiny-lora \u00fc")
    for name, qtype, values in tensors():
        if qtype == gguf.GGMLQuantizationType.F32:
            data = values.astype(np.float32)
        elif qtype == gguf.GGMLQuantizationType.F16:
            data = values.astype(np.float16)
        else:
            data = to_bf16_bytes(values)
        w.add_tensor(name, data, raw_shape=values.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read(path):
    r = gguf.GGUFReader(path)
    for field in r.fields.values():
        if field.types and field.types[0] == gguf.GGUFValueType.STRING:
            value = bytes(field.parts[field.data[0]]).decode("utf-8")
        elif field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            value = f"[array of {len(field.data)}]"
        else:
            value = field.parts[field.data[0]].tolist() if field.data else None
        print(f"kv {field.name} = {value}")
    for t in r.tensors:
        shape = list(reversed([int(x) for x in t.shape]))
        if t.tensor_type == gguf.GGMLQuantizationType.BF16:
            vals = (np.frombuffer(t.data.tobytes(), dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)[:4].tolist()
        else:
            vals = np.asarray(t.data, dtype=np.float64).flatten()[:4].tolist()
        print(f"tensor {t.name} {t.tensor_type.name} {shape} offset={t.data_offset} first={vals}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "read"):
        sys.exit(__doc__)
    (write if sys.argv[1] == "write" else read)(sys.argv[2])
