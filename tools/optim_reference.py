#!/usr/bin/env python3
"""Reference values for the optimizer unit tests (src/test/java/org/lorascripts/train/optim/*Test.java).

Three steps over three float32 parameters: a (2x3) and b (4) have a gradient every step, c (3) only
in the first. SGD comes from torch.optim.SGD and Adafactor from transformers.optimization; Lion
(lion-pytorch) and Prodigy (prodigyopt 1.0) are written out below in plain torch, line for line
from the published packages. Prints Java array literals to paste into the tests.

    /tmp/ptenv/bin/python3 tools/optim_reference.py

With --adamw8bit OUT.safetensors it writes instead the fixture of AdamW8bitTest: bitsandbytes' blockwise
8-bit AdamW (AdamW8bit) written out below in plain torch from the published algorithm, three steps over
tensors large enough for 8-bit states and one below min_8bit_size; the parameters, the uint8 codes and
the per-block absmax after steps 1 and 3.

    /tmp/ptenv/bin/python3 tools/optim_reference.py --adamw8bit src/test/resources/fixtures/adamw8bit-reference.safetensors
"""
import math

import torch

LRS = [0.1, 0.05, 0.02]
SHAPES = {"a": (2, 3), "b": (4,), "c": (3,)}
SEEDS = {"a": 1, "b": 2, "c": 3}


def init(name):
    n = math.prod(SHAPES[name])
    return torch.tensor([0.5 * math.cos(1.1 * i + SEEDS[name]) for i in range(n)], dtype=torch.float32).reshape(SHAPES[name])


def grad(name, t):
    n = math.prod(SHAPES[name])
    return torch.tensor([math.sin(0.7 * i + 1.3 * t + SEEDS[name]) for i in range(n)], dtype=torch.float32).reshape(SHAPES[name])


class Lion(torch.optim.Optimizer):
    """lion-pytorch's Lion (update_fn of lion_pytorch/lion_pytorch.py)."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in filter(lambda p: p.grad is not None, group["params"]):
                grad, lr, wd, (beta1, beta2), state = p.grad, group["lr"], group["weight_decay"], group["betas"], self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                p.data.mul_(1 - lr * wd)
                update = exp_avg.clone().mul_(beta1).add(grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-lr)
                exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)


class Prodigy(torch.optim.Optimizer):
    """prodigyopt 1.0's Prodigy (one parameter group, fsdp off)."""

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0, decouple=True,
                 use_bias_correction=False, safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf")):
        defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay, d=d0, d0=d0, d_max=d0,
                        d_numerator=0.0, d_coef=d_coef, k=0, growth_rate=growth_rate, use_bias_correction=use_bias_correction,
                        decouple=decouple, safeguard_warmup=safeguard_warmup)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self):
        d_denom = 0.0
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        beta3 = group["beta3"] if group["beta3"] is not None else math.sqrt(beta2)
        k = group["k"]
        d, d_max, d_coef = group["d"], group["d_max"], group["d_coef"]
        lr = max(g["lr"] for g in self.param_groups)
        bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1)) if group["use_bias_correction"] else 1
        dlr = d * lr * bias_correction
        growth_rate, decouple = group["growth_rate"], group["decouple"]
        d_numerator = group["d_numerator"] * beta3
        for group in self.param_groups:
            decay, d0, group_lr = group["weight_decay"], group["d0"], group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if decay != 0 and not decouple:
                    grad.add_(p.data, alpha=decay)
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["s"] = torch.zeros_like(p.data).detach()
                    state["p0"] = p.detach().clone()
                    state["exp_avg"] = torch.zeros_like(p.data).detach()
                    state["exp_avg_sq"] = torch.zeros_like(p.data).detach()
                exp_avg, exp_avg_sq, s, p0 = state["exp_avg"], state["exp_avg_sq"], state["s"], state["p0"]
                if group_lr > 0.0:
                    d_numerator += (d / d0) * dlr * torch.dot(grad.flatten(), (p0.data - p.data).flatten()).item()
                    exp_avg.mul_(beta1).add_(grad, alpha=d * (1 - beta1))
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=d * d * (1 - beta2))
                    if group["safeguard_warmup"]:
                        s.mul_(beta3).add_(grad, alpha=((d / d0) * d))
                    else:
                        s.mul_(beta3).add_(grad, alpha=((d / d0) * dlr))
                    d_denom += s.abs().sum().item()
        d_hat = d
        if d_denom == 0:
            return
        if lr > 0.0:
            d_hat = d_coef * d_numerator / d_denom
            if d == group["d0"]:
                d = max(d, d_hat)
            d_max = max(d_max, d_hat)
            d = min(d_max, d * growth_rate)
        for group in self.param_groups:
            group["d_numerator"], group["d"], group["d_max"] = d_numerator, d, d_max
            decay, eps = group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                denom = state["exp_avg_sq"].sqrt().add_(d * eps)
                if decay != 0 and decouple:
                    p.data.add_(p.data, alpha=-decay * dlr)
                p.data.addcdiv_(state["exp_avg"], denom, value=-dlr)
            group["k"] = group["k"] + 1


def run(label, make, lrs=LRS, extra=None):
    ps = {n: init(n).requires_grad_(True) for n in SHAPES}
    opt = make(list(ps.values()))
    for t in range(1, 4):
        for n, p in ps.items():
            p.grad = grad(n, t) if (n != "c" or t == 1) else None
        for g in opt.param_groups:
            g["lr"] = lrs[t - 1]
        opt.step()
    print(f"// {label}")
    for n, p in ps.items():
        vals = ", ".join(repr(float(v)) for v in p.detach().flatten())
        print(f"static final double[] {label}_{n.upper()} = {{{vals}}};")
    if extra:
        print(extra(opt))


def main():
    from transformers.optimization import Adafactor

    torch.set_printoptions(precision=10)
    run("LION", lambda ps: Lion(ps, lr=0.1, betas=(0.9, 0.99), weight_decay=0.1))
    run("SGD_NESTEROV", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01))
    run("SGD_DAMPENED", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.0))
    # relative_step: the lr set per step is ignored by transformers only when lr=None; keep it None
    run("ADAFACTOR_RELATIVE", lambda ps: Adafactor(ps, lr=None), lrs=[None, None, None])
    run("ADAFACTOR_FIXED", lambda ps: Adafactor(ps, lr=0.1, relative_step=False, scale_parameter=False, beta1=0.9,
                                                 weight_decay=0.01, clip_threshold=0.5))
    run("PRODIGY_DEFAULT", lambda ps: Prodigy(ps, lr=1.0), lrs=[1.0, 1.0, 1.0],
        extra=lambda o: f"static final double PRODIGY_DEFAULT_D = {o.param_groups[0]['d']!r};")
    run("PRODIGY_TUNED", lambda ps: Prodigy(ps, lr=1.0, d0=1e-3, d_coef=1000.0, weight_decay=0.01, use_bias_correction=True,
                                             safeguard_warmup=True, growth_rate=1.5), lrs=[1.0, 0.5, 1.0],
        extra=lambda o: f"static final double PRODIGY_TUNED_D = {o.param_groups[0]['d']!r};")


# ---- bitsandbytes AdamW8bit (optim_bits=8, block_wise, min_8bit_size=4096, percentile clipping off) ----

def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """bitsandbytes.functional.create_dynamic_map: per exponent 10^-6..10^0, the midpoints of an even
    split of [0.1, 1] (one sign bit for the signed map, one more fraction bit for the unsigned one), plus
    0 and 1, sorted."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        items = 2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1
        b = torch.linspace(0.1, 1, int(items), dtype=torch.float32)
        means = (b[:-1] + b[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    if additional_items > 0:
        b = torch.linspace(0.1, 1, additional_items + 1, dtype=torch.float32)
        means = (b[:-1] + b[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data += [0, 1.0]
    data += [0] * (256 - len(data))
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def quantize_code(x, code, signed):
    """The CUDA kernel's quantize_2D, vectorised: a 7-step binary search over the 256 sorted codes from
    index 127, then the nearer of the two codes around x by their float32 midpoint."""
    pivot = torch.full(x.shape, 127, dtype=torch.long)
    upper_pivot = torch.full(x.shape, 255, dtype=torch.long)
    lower_pivot = torch.zeros(x.shape, dtype=torch.long)
    lower = torch.full(x.shape, -1.0 if signed else 0.0)
    upper = torch.ones(x.shape)
    val = code[pivot]
    i = 64
    while i > 0:
        up = x > val
        lower_pivot = torch.where(up, pivot, lower_pivot)
        lower = torch.where(up, val, lower)
        upper_pivot = torch.where(up, upper_pivot, pivot)
        upper = torch.where(up, upper, val)
        pivot = torch.where(up, pivot + i, pivot - i)
        val = code[pivot]
        i >>= 1
    up = x > val
    mid_up = (upper + val) * 0.5
    mid_down = (lower + val) * 0.5
    return torch.where(up, torch.where(x > mid_up, upper_pivot, pivot), torch.where(x < mid_down, lower_pivot, pivot))


class AdamW8bit:
    """bitsandbytes.optim.AdamW8bit on one parameter group. Tensors with fewer than min_8bit_size
    elements keep float32 states (kOptimizer32bit2State); the others hold state1 (the first moment,
    signed dynamic map) and state2 (the second moment, unsigned dynamic map) as uint8 codes with one
    float32 absmax per block of 256 (kOptimizerStatic8bit2StateBlockwise): dequantise, update the moments
    in float32, take the new block absmax, update the parameter from the float32 moments, decay it, and
    requantise to the nearest code (a first moment never changes sign in the process)."""
    BLOCK = 256

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, min_8bit_size=4096):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.wd, self.min_8bit_size = lr, betas, eps, weight_decay, min_8bit_size
        self.state = {}
        self.qmap1 = create_dynamic_map(signed=True)
        self.qmap2 = create_dynamic_map(signed=False)

    @torch.no_grad()
    def step(self):
        beta1, beta2 = self.betas
        for p in self.params:
            if p.grad is None:
                continue
            st = self.state.setdefault(id(p), {})
            n = p.numel()
            if not st:
                st["step"] = 0
                if n < self.min_8bit_size:
                    st["state1"] = torch.zeros_like(p)
                    st["state2"] = torch.zeros_like(p)
                else:
                    blocks = (n + self.BLOCK - 1) // self.BLOCK
                    st["state1"] = torch.zeros_like(p, dtype=torch.uint8)
                    st["state2"] = torch.zeros_like(p, dtype=torch.uint8)
                    st["absmax1"] = torch.zeros(blocks)
                    st["absmax2"] = torch.zeros(blocks)
            st["step"] += 1
            t = st["step"]
            c1 = 1.0 - beta1 ** t
            c2 = math.sqrt(1.0 - beta2 ** t)
            step_size = -self.lr * c2 / c1
            g = p.grad.flatten()
            if st["state1"].dtype == torch.float32:
                m, v = st["state1"].view(-1), st["state2"].view(-1)
                m.mul_(beta1).add_(g, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                p.view(-1).addcdiv_(m, v.sqrt().add_(c2 * self.eps), value=step_size)
            else:
                blocks = st["absmax1"].numel()
                idx = torch.arange(n) // self.BLOCK
                m = self.qmap1[st["state1"].view(-1).long()] * st["absmax1"][idx]
                v = self.qmap2[st["state2"].view(-1).long()] * st["absmax2"][idx]
                m.mul_(beta1).add_(g, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                a1 = torch.zeros(blocks).scatter_reduce_(0, idx, m.abs(), "amax")
                a2 = torch.zeros(blocks).scatter_reduce_(0, idx, v.abs(), "amax")
                p.view(-1).addcdiv_(m, v.sqrt().add_(c2 * self.eps), value=step_size)
                q1 = quantize_code(m / a1[idx], self.qmap1, True)
                q2 = quantize_code(v / a2[idx], self.qmap2, False)
                # the sign of the first moment survives: a negative value that rounded to the zero code
                # takes the next code down (the kernel compares sign bits)
                flip = torch.signbit(self.qmap1[q1]) != torch.signbit(m)
                q1 = torch.where(flip, torch.where(m > 0, q1 + 1, q1 - 1), q1)
                st["state1"] = q1.to(torch.uint8).view(p.shape)
                st["state2"] = q2.to(torch.uint8).view(p.shape)
                st["absmax1"], st["absmax2"] = a1, a2
            if self.wd > 0:
                p.mul_(1.0 - self.lr * self.wd)


def adamw8bit_fixture(out):
    from safetensors.torch import save_file

    shapes = {"w": (60, 75), "c": (64, 64), "s": (300,)}
    seeds = {"w": 1, "c": 2, "s": 3}

    def tensor(name, f):
        n = math.prod(shapes[name])
        return torch.tensor([f(i) for i in range(n)], dtype=torch.float32).reshape(shapes[name])

    def g8(name, t):
        # each block of 256 its own scale, 1 .. 1e-3, so the absmax differ per block
        k = seeds[name]
        return tensor(name, lambda i: math.sin(0.7 * i + 1.3 * t + k) * 10.0 ** (-((i // 256) % 4)) * (1 + 0.5 * math.cos(0.01 * i * t)))

    ps = {n: tensor(n, lambda i, k=seeds[n]: 0.5 * math.cos(1.1 * i + k)).requires_grad_(True) for n in shapes}
    lrs = [0.1, 0.05, 0.02]
    opt = AdamW8bit(list(ps.values()), lr=lrs[0], betas=(0.9, 0.99), eps=1e-6, weight_decay=0.05)
    assert torch.equal(opt.qmap1, create_dynamic_map(True)) and opt.qmap1.numel() == 256
    out_t = {"qmap1": opt.qmap1, "qmap2": opt.qmap2}
    for t in range(1, 4):
        for n, p in ps.items():
            p.grad = g8(n, t) if (n != "c" or t == 1) else None
        opt.lr = lrs[t - 1]
        opt.step()
        if t == 2:
            continue  # steps 1 and 3 are kept
        for n, p in ps.items():
            out_t[f"step{t}.{n}"] = p.detach().clone()
            for k, v in opt.state[id(p)].items():
                if k != "step":
                    out_t[f"step{t}.{n}.{k}"] = v.clone().contiguous()
    save_file(out_t, out, metadata={"made_by": "tools/optim_reference.py --adamw8bit", "torch": torch.__version__})
    print(f"wrote {out}: {len(out_t)} tensors")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--adamw8bit":
        adamw8bit_fixture(sys.argv[2])
    else:
        main()
