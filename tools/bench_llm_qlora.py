#!/usr/bin/env python3
"""PyTorch reference of org.lorascripts.bench.LlmQloraBenchmark: QLoRA with transformers + peft + bitsandbytes.

The Llama-3-8B shape with random weights (no downloads), seq 2048, batch 1, LoRA r16 alpha 32 on q/k/v/o,
bf16 autocast, fused AdamW (weight decay 0.01), with and without gradient checkpointing; the base either
as bitsandbytes NF4 with double quantisation and bf16 compute (QLoRA) or in bf16. One JSON line per
configuration, with the keys of our benchmark and "impl": "torch".

For NF4 the random bf16 model is saved to a temporary folder (TMPDIR; about 16 GB for the 8B shape) and
loaded back through from_pretrained with a BitsAndBytesConfig, the way a user loads a checkpoint in 4 bits.
peft's prepare_model_for_kbit_training is not called: it would upcast embeddings, norms and lm_head to fp32
(about 2 GiB more on this shape), which our trainer does not do; gradient checkpointing is switched on as
shared/bench/bench_llm_peft.py does. weights_gib is the memory allocated once the model, its LoRA and the
optimizer exist; peak_gib the peak of the training steps after that.

Without bitsandbytes (or without CUDA) it prints one line {"impl": "torch", "skipped": ...} and exits 0.
--tiny runs a 2-layer small shape on the CPU instead, without quantisation when bitsandbytes is missing
(the NF4 configurations then go through the save / from_pretrained path unquantised, with "quant": "none"),
so every other line of the script can be checked on a machine without a GPU:
    python3 tools/bench_llm_qlora.py --tiny --steps 1 --warmup 1 --seq 16
"""
import argparse
import json
import shutil
import sys
import tempfile
import time

SHAPES = {
    'llama3-8b': dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0, tie_word_embeddings=False),
    'tiny': dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=512, rope_theta=10000.0, tie_word_embeddings=False),
}
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
GIB = 2 ** 30


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--quant", default="nf4,bf16", help="comma list of nf4, bf16")
    ap.add_argument("--ckpt", default="both", choices=("both", "on", "off"))
    ap.add_argument("--tiny", action="store_true", help="a 2-layer small shape on the CPU (checks the script without a GPU)")
    a = ap.parse_args(argv)
    quants = [q.strip() for q in a.quant.split(",") if q.strip()]
    bad = [q for q in quants if q not in ("nf4", "bf16")]
    if bad or not quants:
        ap.error("--quant %s: use nf4, bf16 or both" % a.quant)
    if a.steps < 1 or a.warmup < 0 or a.seq < 2:
        ap.error("--steps needs at least 1, --warmup at least 0, --seq at least 2")
    a.quants = quants
    a.ckpts = {"both": (False, True), "on": (True,), "off": (False,)}[a.ckpt]
    return a


def bnb_config(torch):
    from transformers import BitsAndBytesConfig
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def dtype_kwarg(transformers, torch):
    """transformers renamed from_pretrained's torch_dtype to dtype in 4.56."""
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": torch.bfloat16}


def random_model(torch, cfg, device):
    from transformers import LlamaForCausalLM
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            return LlamaForCausalLM(cfg)
    finally:
        torch.set_default_dtype(torch.float32)


def run(torch, args, shape, cfg, quant, ckpt, device, saved, quantize):
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM
    cuda = device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
    torch.manual_seed(0)
    if quant == "nf4":
        kw = dict(attn_implementation="sdpa", **dtype_kwarg(transformers, torch))
        if quantize:
            kw.update(quantization_config=bnb_config(torch), device_map={"": 0} if cuda else {"": "cpu"})
        model = LlamaForCausalLM.from_pretrained(saved, **kw)
        if not quantize:
            model = model.to(device)
    else:
        model = random_model(torch, cfg, device)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=list(TARGETS), task_type="CAUSAL_LM"))
    for _, p in model.named_parameters():
        if p.requires_grad:
            p.data = p.data.float()
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, fused=cuda)
    weights = torch.cuda.memory_allocated() / GIB if cuda else None
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    # the same tokens for every configuration, whatever the loading drew from the global generator
    ids = torch.randint(0, cfg.vocab_size, (1, args.seq), generator=torch.Generator().manual_seed(0)).to(device)

    def step():
        with torch.autocast(device, dtype=torch.bfloat16):
            out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(out.loss.detach())

    loss = None
    for _ in range(args.warmup):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / args.steps
    r = dict(impl="torch", model=shape, quant=quant if (quant == "bf16" or quantize) else "none", grad_ckpt=ckpt,
             seq=args.seq, batch=1, targets=len(TARGETS), tok_s=round(args.seq / dt), step_s=round(dt, 3),
             peak_gib=round(torch.cuda.max_memory_allocated() / GIB, 2) if cuda else None,
             weights_gib=round(weights, 2) if weights is not None else None, loss=loss)
    if quant == "nf4" and not quantize:
        r["note"] = "bitsandbytes not installed: the checkpoint was loaded unquantised"
    print(json.dumps(r), flush=True)
    del model, opt, params, ids
    if cuda:
        torch.cuda.empty_cache()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import bitsandbytes  # noqa: F401
        have_bnb = True
    except Exception:  # ImportError, or a broken CUDA setup that bitsandbytes reports on import
        have_bnb = False
    import torch
    if not args.tiny:
        if not have_bnb:
            print(json.dumps({"impl": "torch", "skipped": "bitsandbytes not installed"}), flush=True)
            return 0
        if not torch.cuda.is_available():
            print(json.dumps({"impl": "torch", "skipped": "no CUDA device"}), flush=True)
            return 0
    from transformers import LlamaConfig
    shape = "tiny" if args.tiny else "llama3-8b"
    device = "cpu" if args.tiny else "cuda"
    quantize = have_bnb
    cfg = LlamaConfig(max_position_embeddings=8192, attn_implementation="sdpa", **SHAPES[shape])
    saved = None
    try:
        if "nf4" in args.quants:
            saved = tempfile.mkdtemp(prefix="bench-llm-qlora-")
            m = random_model(torch, cfg, device)
            m.save_pretrained(saved)
            del m
            if device == "cuda":
                torch.cuda.empty_cache()
        for quant in args.quants:
            for ckpt in args.ckpts:
                try:
                    run(torch, args, shape, cfg, quant, ckpt, device, saved, quantize)
                except Exception as e:  # out of memory, a bitsandbytes or transformers error: one line, then the next
                    print(json.dumps(dict(impl="torch", model=shape, quant=quant, grad_ckpt=ckpt,
                                          error="%s: %s" % (type(e).__name__, e))), flush=True)
                    if device == "cuda":
                        torch.cuda.empty_cache()
    finally:
        if saved:
            shutil.rmtree(saved, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
