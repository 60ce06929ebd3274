#!/usr/bin/env python3
"""Reference values for the optimizer unit tests (src/test/java/org/lorascripts/train/optim/*Test.java).

Three steps over three float32 parameters: a (2x3) and b (4) have a gradient every step, c (3) only
in the first. SGD comes from torch.optim.SGD and Adafactor from transformers.optimization; Lion
(lion-pytorch) and Prodigy (prodigyopt 1.0) are written out below in plain torch, line for line
from the published packages. Prints Java array literals to paste into the tests.

    /tmp/ptenv/bin/python3 tools/optim_reference.py
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


if __name__ == "__main__":
    main()
