#!/usr/bin/env python3
"""Reference NF4 (QLoRA) quantisation numbers for the Java tests, in plain torch.

Follows bitsandbytes' published format for quantize_4bit(A, blocksize=64, quant_type="nf4",
compress_statistics=True) and dequantize_4bit as its torch ("default") kernels compute it:

* NF4 code: the 16 sorted values of get_4bit_type("nf4") (create_normal_map(0.9677083), normalised).
* per block of 64 elements (the flattened weight, row-major; a last partial block too): absmax =
  max |x| (float32; a partial last block's absmax is clamped to >= 1e-38), scaled =
  clamp(x * (1 / max(absmax, 1e-38)), -1, 1) for full blocks and x / absmax for the partial one.
* code index: nearest NF4 value, ties to the lower one (bucketize over the float32 midpoints).
* packing: two codes per uint8, the first (even) element in the high nibble: (q[2i] << 4) | q[2i+1];
  an odd element count is padded with a scaled 0 (code 7).
* double quantisation: offset = mean(absmax) (float32), then quantize_blockwise(absmax - offset,
  code = create_dynamic_map(signed=True), blocksize=256): per 256 values an absmax2 (float32) and
  uint8 codes into the dynamic map by the same nearest-by-midpoints rule.
* dequantise: absmax = dynamic[codes] * absmax2 (per 256) + offset; w = nf4[q] * absmax (per 64)
  in float32, then cast to the compute dtype.

bitsandbytes itself is not needed (nor installed); this file writes our own code from the format.
Usage: python3 tools/nf4_reference.py OUT.safetensors
(makes src/test/resources/fixtures/nf4-reference.safetensors, read by Nf4Test).
"""
import sys

import torch
from safetensors.torch import save_file

NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=torch.float32)
NF4 = NF4 / NF4.abs().max()


def dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """The 256-value dynamic map (sign, then a run of zero bits as the exponent, the rest linear)."""
    data = []
    non_sign_bits = total_bits - 1
    for i in range(max_exponent_bits):
        items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                    else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        bounds = torch.linspace(0.1, 1, items, dtype=torch.float32)
        means = (bounds[:-1] + bounds[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


DYNAMIC = dynamic_map(True)


def _scale_blocks(flat, blocksize):
    n = flat.numel()
    rem = n % blocksize
    full = n - rem
    com = flat[:full].reshape(full // blocksize, blocksize)
    absmax = com.abs().max(dim=-1)[0]
    scaled = torch.clamp(com * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        am = flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, am.unsqueeze(0)])
        scaled = torch.cat([scaled, torch.clamp(flat[full:] / am, -1, 1)])
    return scaled, absmax


def quantize_blockwise(a, code, blocksize):
    scaled, absmax = _scale_blocks(a.reshape(-1).float(), blocksize)
    bounds = (code[:-1] + code[1:]) / 2
    return torch.bucketize(scaled, bounds, out_int32=True).to(torch.uint8), absmax


def dequantize_blockwise(q, absmax, code, blocksize):
    n = q.numel()
    out = code[q.to(torch.int64)]
    rem = n % blocksize
    full = n - rem
    parts = []
    if full:
        parts.append((out[:full].reshape(-1, blocksize) * absmax[:full // blocksize].view(-1, 1)).reshape(full))
    if rem:
        parts.append(out[full:] * absmax[full // blocksize])
    return torch.cat(parts)


def quantize_nf4(w, blocksize=64):
    scaled, absmax = _scale_blocks(w.reshape(-1).float(), blocksize)
    if scaled.numel() % 2:
        scaled = torch.nn.functional.pad(scaled, (0, 1))
    bounds = (NF4[:-1] + NF4[1:]) / 2
    q = torch.bucketize(scaled, bounds, out_int32=True).to(torch.uint8)
    packed = (q[::2] << 4) | q[1::2]
    offset = absmax.mean()
    qabsmax, absmax2 = quantize_blockwise(absmax - offset, DYNAMIC, 256)
    return packed, absmax, qabsmax, absmax2, offset


def dequantize_nf4(packed, qabsmax, absmax2, offset, shape, dtype, blocksize=64):
    absmax = dequantize_blockwise(qabsmax, absmax2, DYNAMIC, 256)
    absmax += offset
    n = 1
    for s in shape:
        n *= s
    codes = torch.empty(packed.numel() * 2, dtype=torch.int64)
    codes[1::2] = (packed & 0xF).to(torch.int64)
    codes[::2] = (packed >> 4).to(torch.int64)
    vals = NF4[codes][:n]
    return dequantize_blockwise_values(vals, absmax, blocksize).reshape(shape).to(dtype), absmax


def dequantize_blockwise_values(vals, absmax, blocksize):
    n = vals.numel()
    rem = n % blocksize
    full = n - rem
    out = torch.empty(n, dtype=torch.float32)
    out[:full] = (vals[:full].view(-1, blocksize) * absmax[:full // blocksize].view(-1, 1)).reshape(full)
    if rem:
        out[full:] = vals[full:] * absmax[full // blocksize]
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/fixtures/nf4-reference.safetensors"
    g = torch.Generator().manual_seed(20261204)
    cases = {
        # 260 blocks of 64 -> 2 nested blocks (256 + 4); one row of zeros makes all-zero blocks
        "a": (torch.randn(32, 520, generator=g) * 0.05, torch.float32),
        # 800 elements -> 12 full blocks and a partial one of 32; a few outliers and exact code values
        "b": (torch.randn(8, 100, generator=g) * 0.02, torch.float32),
        # bf16 input and bf16 output (the compute dtype), odd element count (7 x 9 = 63)
        "c": (torch.randn(7, 9, generator=g).to(torch.bfloat16), torch.bfloat16),
    }
    cases["a"][0][3].zero_()
    cases["b"][0][0, 5] = 1.5
    cases["b"][0][1, 0:16] = torch.linspace(-0.04, 0.04, 16)
    tensors = {"nf4_code": NF4.clone(), "dynamic_code": DYNAMIC.clone()}
    for name, (w, dtype) in cases.items():
        packed, absmax, qabsmax, absmax2, offset = quantize_nf4(w)
        deq, absmax_deq = dequantize_nf4(packed, qabsmax, absmax2, offset, w.shape, dtype)
        tensors[f"{name}.weight"] = w.contiguous()
        tensors[f"{name}.packed"] = packed
        tensors[f"{name}.absmax"] = absmax
        tensors[f"{name}.nested_absmax"] = qabsmax
        tensors[f"{name}.nested_absmax2"] = absmax2
        tensors[f"{name}.nested_offset"] = offset.reshape(1)
        tensors[f"{name}.absmax_dequantized"] = absmax_deq
        tensors[f"{name}.dequantized"] = deq.contiguous()
    save_file(tensors, out, metadata={"tool": "tools/nf4_reference.py", "torch": torch.__version__})
    for k, v in tensors.items():
        print(k, tuple(v.shape), v.dtype)


if __name__ == "__main__":
    main()
