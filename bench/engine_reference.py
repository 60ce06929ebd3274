#!/usr/bin/env python3
"""PyTorch eager reference for EngineBenchmark: the same matmul and small-op loops.
Usage: engine_reference.py DEVICE N   (prints one JSON line per measurement)"""
import json, sys, time
import torch

dev = torch.device(sys.argv[1] if len(sys.argv) > 1 else "cuda:0")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
dt = torch.bfloat16 if dev.type == "cuda" else torch.float32

def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)

a = torch.randn(n, n, dtype=dt, device=dev)
b = torch.randn(n, n, dtype=dt, device=dev)
iters = 50 if dev.type == "cuda" else 3
for _ in range(3):
    a @ b
sync()
t0 = time.perf_counter()
for _ in range(iters):
    a @ b
sync()
sec = time.perf_counter() - t0
print(json.dumps({"impl": "torch", "bench": "matmul", "dtype": str(dt), "n": n, "tflops": round(2 * n ** 3 * iters / sec / 1e12, 1)}))

x = torch.randn(1024, device=dev)
y = torch.randn(1024, device=dev)
iters = 20000
for _ in range(2):
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        z = x + y
    sync()
    add = (time.perf_counter() - t0) / iters * 1e6
    t0 = time.perf_counter()
    for _ in range(iters):
        x.add_(y)
    sync()
    inplace = (time.perf_counter() - t0) / iters * 1e6
print(json.dumps({"impl": "torch", "bench": "small_op", "add_us": round(add, 2), "add_inplace_us": round(inplace, 2)}))
