#!/usr/bin/env python3
"""Reference values for the LoHa / LoKr tests (src/test/java/org/lorascripts/lora/LycorisAdapterTest.java).

Plain torch implementing LyCORIS's published formulas (KohakuBlueleaf/LyCORIS, lycoris/modules/loha.py and
lokr.py, lycoris/functional/general.py) and the scale rules of its loaders (AUTOMATIC1111's
extensions-builtin/Lora/network_hada.py / network_lokr.py, ComfyUI's comfy/weight_adapter/loha.py / lokr.py):

  LoHa  dW = (w1_a @ w1_b) * (w2_a @ w2_b) * alpha / dim        dim = hada_w1_b.shape[0]
        (tucker: each factor is einsum("i j ..., i p, j r -> p r ...", t, w_a, w_b))
  LoKr  dW = kron(W1, W2) * scale, W1 = w1 or w1_a @ w1_b, W2 = w2 or w2_a @ w2_b (or tucker),
        scale = alpha / dim with dim from lokr_w2_b (else lokr_w1_b), 1 when both are full
  and, for new modules, LyCORIS's LokrModule shape rules with its factorization().

Inputs are fixed (cosines of the index), so the file is reproducible. Writes
src/test/resources/lycoris/reference.json:

    /tmp/ptenv/bin/python3 tools/lycoris_reference.py
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)


def fixed(shape, seed):
    n = math.prod(shape)
    return torch.tensor([0.5 * math.cos(0.61 * i + seed) for i in range(n)]).reshape(shape)


def factorization(dimension, factor=-1):
    """LyCORIS's lycoris/functional/general.py factorization(), as published."""
    if factor > 0 and dimension % factor == 0:
        m, n = factor, dimension // factor
        return (n, m) if m > n else (m, n)
    if factor < 0:
        factor = dimension
    m, n = 1, dimension
    length = m + n
    while m < n:
        new_m = m + 1
        while dimension % new_m != 0:
            new_m += 1
        new_n = dimension // new_m
        if new_m + new_n > length or new_m > factor:
            break
        m, n = new_m, new_n
    return (n, m) if m > n else (m, n)


def tucker(t, wa, wb):
    return torch.einsum("i j ..., i p, j r -> p r ...", t, wa, wb)


def loha_delta(w, alpha, weight_shape):
    if "hada_t1" in w:
        w1 = tucker(w["hada_t1"], w["hada_w1_a"], w["hada_w1_b"])
        w2 = tucker(w["hada_t2"], w["hada_w2_a"], w["hada_w2_b"])
    else:
        w1 = w["hada_w1_a"] @ w["hada_w1_b"].reshape(w["hada_w1_b"].shape[0], -1)
        w2 = w["hada_w2_a"] @ w["hada_w2_b"].reshape(w["hada_w2_b"].shape[0], -1)
    dim = w["hada_w1_b"].shape[0]
    scale = alpha / dim if alpha is not None else 1.0
    return (w1 * w2 * scale).reshape(weight_shape)


def lokr_delta(w, alpha, weight_shape):
    dim = None
    if "lokr_w1" in w:
        w1 = w["lokr_w1"]
    else:
        dim = w["lokr_w1_b"].shape[0]
        w1 = w["lokr_w1_a"] @ w["lokr_w1_b"]
    if "lokr_w2" in w:
        w2 = w["lokr_w2"]
    else:
        dim = w["lokr_w2_b"].shape[0]
        if "lokr_t2" in w:
            w2 = tucker(w["lokr_t2"], w["lokr_w2_a"], w["lokr_w2_b"])
        else:
            w2 = w["lokr_w2_a"] @ w["lokr_w2_b"]
    if w2.dim() == 4:
        w1 = w1.unsqueeze(2).unsqueeze(2)
    scale = alpha / dim if (alpha is not None and dim is not None) else 1.0
    return (torch.kron(w1, w2) * scale).reshape(weight_shape)


def lokr_shapes(out_dim, in_dim, k, dim, factor=-1, decompose_both=False, full_matrix=False):
    """The tensors LyCORIS's LokrModule creates (no tucker), and whether its scale is 1 (both factors full)."""
    in_m, in_n = factorization(in_dim, factor)
    out_l, out_k = factorization(out_dim, factor)
    s = {}
    if decompose_both and dim < max(out_l, in_m) / 2 and not full_matrix:
        s["lokr_w1_a"], s["lokr_w1_b"] = [out_l, dim], [dim, in_m]
    else:
        s["lokr_w1"] = [out_l, in_m]
    if k:
        if dim >= max(out_k, in_n) / 2 or full_matrix:
            s["lokr_w2"] = [out_k, in_n, k, k]
        else:
            s["lokr_w2_a"], s["lokr_w2_b"] = [out_k, dim], [dim, in_n * k * k]
    else:
        if dim < max(out_k, in_n) / 2 and not full_matrix:
            s["lokr_w2_a"], s["lokr_w2_b"] = [out_k, dim], [dim, in_n]
        else:
            s["lokr_w2"] = [out_k, in_n]
    return s, ("lokr_w1" in s and "lokr_w2" in s)


def case(name, algo, weight_shape, shapes, alpha):
    w = {k: fixed(v, i + 1) for i, (k, v) in enumerate(shapes.items())}
    fn = loha_delta if algo == "loha" else lokr_delta
    d = fn(w, alpha, weight_shape)
    return {"name": name, "algo": algo, "weight_shape": list(weight_shape), "alpha": alpha,
            "tensors": {k: {"shape": list(v.shape), "values": v.flatten().tolist()} for k, v in w.items()},
            "delta": d.flatten().tolist()}


def main():
    cases = [
        case("loha linear", "loha", (6, 10), {"hada_w1_a": (6, 3), "hada_w1_b": (3, 10), "hada_w2_a": (6, 3), "hada_w2_b": (3, 10)}, 1.5),
        case("loha conv3x3", "loha", (4, 6, 3, 3), {"hada_w1_a": (4, 2), "hada_w1_b": (2, 54), "hada_w2_a": (4, 2), "hada_w2_b": (2, 54)}, 2.0),
        case("loha conv3x3 4-d w_b", "loha", (4, 6, 3, 3), {"hada_w1_a": (4, 2), "hada_w1_b": (2, 6, 3, 3), "hada_w2_a": (4, 2), "hada_w2_b": (2, 6, 3, 3)}, 1.0),
        case("loha conv3x3 tucker", "loha", (4, 6, 3, 3), {"hada_w1_a": (2, 4), "hada_w1_b": (2, 6), "hada_t1": (2, 2, 3, 3),
                                                         "hada_w2_a": (2, 4), "hada_w2_b": (2, 6), "hada_t2": (2, 2, 3, 3)}, 1.0),
        case("loha linear no alpha", "loha", (6, 10), {"hada_w1_a": (6, 3), "hada_w1_b": (3, 10), "hada_w2_a": (6, 3), "hada_w2_b": (3, 10)}, None),
        case("lokr linear w2 low-rank", "lokr", (8, 12), {"lokr_w1": (2, 3), "lokr_w2_a": (4, 1), "lokr_w2_b": (1, 4)}, 0.5),
        case("lokr linear full", "lokr", (8, 12), {"lokr_w1": (2, 3), "lokr_w2": (4, 4)}, 4.0),
        case("lokr conv3x3 w2 low-rank", "lokr", (16, 8, 3, 3), {"lokr_w1": (4, 2), "lokr_w2_a": (4, 1), "lokr_w2_b": (1, 36)}, 1.0),
        case("lokr conv3x3 full", "lokr", (4, 4, 3, 3), {"lokr_w1": (2, 2), "lokr_w2": (2, 2, 3, 3)}, 8.0),
        case("lokr linear decompose both", "lokr", (64, 64), {"lokr_w1_a": (4, 1), "lokr_w1_b": (1, 4), "lokr_w2_a": (16, 1), "lokr_w2_b": (1, 16)}, 3.0),
        case("lokr conv3x3 tucker", "lokr", (16, 8, 3, 3), {"lokr_w1": (4, 2), "lokr_w2_a": (1, 4), "lokr_w2_b": (1, 4), "lokr_t2": (1, 1, 3, 3)}, 2.0),
    ]
    factorizations = [[d, f, *factorization(d, f)] for d in (1, 4, 127, 128, 250, 320, 360, 512, 640, 768, 1024, 1280, 2048, 2816)
                      for f in (-1, 2, 4, 8, 16)]
    shape_cases = []
    for out_dim, in_dim, k, dim, factor, both, full in [
            (320, 320, 0, 4, -1, False, False), (320, 768, 0, 8, -1, False, False), (640, 2048, 0, 16, 8, False, False),
            (1280, 5120, 0, 4, 16, True, False), (320, 320, 3, 4, -1, False, False), (640, 320, 3, 64, -1, False, False),
            (768, 768, 0, 16, -1, False, True), (32, 32, 0, 8, -1, False, False), (64, 32, 1, 4, 4, False, False)]:
        s, unit = lokr_shapes(out_dim, in_dim, k, dim, factor, both, full)
        shape_cases.append({"out": out_dim, "in": in_dim, "k": k, "dim": dim, "factor": factor, "decompose_both": both,
                            "full_matrix": full, "tensors": s, "scale_is_one": unit})
    out = os.path.join(os.path.dirname(__file__), "..", "src", "test", "resources", "lycoris", "reference.json")
    with open(out, "w") as f:
        json.dump({"tool": "tools/lycoris_reference.py", "cases": cases, "factorization": factorizations, "lokr_shapes": shape_cases}, f)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
