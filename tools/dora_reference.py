#!/usr/bin/env python3
"""Reference numbers for DoRA (weight-decomposed LoRA), made with peft and plain torch on the CPU in fp32.

  dora_reference.py peft OUTDIR
      For the tiny Llama and Qwen2 fixtures (src/test/resources/fixtures/hf/{llama,qwen2}, Qwen2 has
      q/k/v biases) peft builds a DoRA adapter (use_dora=True, r 4, alpha 8, every linear layer but
      lm_head), its weights and magnitudes moved away from their init, and saves it with
      save_pretrained. OUTDIR/<name>/adapter is that folder; OUTDIR/<name>/expected.safetensors holds
      input_ids, the adapted logits, the summed next-token cross-entropy (loss_sum), the gradients of
      loss_sum for one module's lora_A, lora_B and magnitude, and the logits after merge_and_unload().
      The Java test (lora.PeftDoraParityTest) loads the adapter and must reproduce all of them.

  dora_reference.py check BASE_DIR ADAPTER_DIR [MERGED_DIR]
      Loads an adapter that we saved onto BASE_DIR with peft and prints the largest logit change it
      makes and its magnitude keys, e.g. after `./lora train` with use_dora: true; with MERGED_DIR
      (what `./lora merge` wrote from the same adapter) also how far our merged model's logits are
      from peft's adapted ones.

  dora_reference.py webui OUT.json
      WebUI's apply_weight_decompose (extensions-builtin/Lora/network.py, its finalize_updown order:
      updown * alpha/rank, then decompose, then * multiplier) and ComfyUI's weight_decompose on fixed
      small tensors (a linear and a 3x3 convolution, dora_scale (1, in[, 1, 1])), written as JSON for
      lora.KohyaDoraTest. The formulas are written out here from those sources' published form.
"""
import json, os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "src", "test", "resources", "fixtures", "hf")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def peft_fixtures(out):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM
    import peft, transformers
    for name in ("llama", "qwen2"):
        torch.manual_seed(1234)
        base_dir = os.path.join(FIXTURES, name)
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
        ids = torch.randint(3, base.config.vocab_size, (2, 10))
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, use_dora=True,
                                                task_type="CAUSAL_LM"))
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_A" in n or "lora_B" in n:
                    p.copy_(torch.randn_like(p) * 0.2)
                elif "lora_magnitude_vector" in n:
                    p.mul_(1 + 0.1 * torch.randn_like(p))
        model.eval()
        d = os.path.join(out, name)
        model.save_pretrained(os.path.join(d, "adapter"), safe_serialization=True)
        os.remove(os.path.join(d, "adapter", "README.md"))   # peft's model card; the fixture needs no absolute paths
        cfg_file = os.path.join(d, "adapter", "adapter_config.json")
        with open(cfg_file) as f:
            cfg = json.load(f)
        cfg["base_model_name_or_path"] = "fixtures/hf/" + name
        with open(cfg_file, "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        logits = model(input_ids=ids).logits
        lf = logits[:, :-1].reshape(-1, logits.size(-1))
        loss_sum = torch.nn.functional.cross_entropy(lf, ids[:, 1:].reshape(-1), reduction="sum")
        loss_sum.backward()
        t = {"input_ids": ids, "logits": logits.detach(), "loss_sum": loss_sum.detach().reshape(1)}
        for module in ("model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"):
            m = model.base_model.model.get_submodule(module)
            t[module + ".lora_A.grad"] = m.lora_A["default"].weight.grad.clone()
            t[module + ".lora_B.grad"] = m.lora_B["default"].weight.grad.clone()
            t[module + ".magnitude.grad"] = m.lora_magnitude_vector["default"].weight.grad.clone()
        with torch.no_grad():
            merged = model.merge_and_unload()
            t["merged_logits"] = merged(input_ids=ids).logits
        save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(d, "expected.safetensors"),
                  metadata={"peft": peft.__version__, "transformers": transformers.__version__, "torch": torch.__version__})
        print(name, "loss_sum", float(loss_sum), {k: list(v.shape) for k, v in t.items()})


def check(base_dir, adapter_dir, merged_dir=None):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
    ids = torch.randint(3, base.config.vocab_size, (1, 12))
    with torch.no_grad():
        before = base(input_ids=ids).logits
        model = PeftModel.from_pretrained(base, adapter_dir).eval()
        after = model(input_ids=ids).logits
    keys = [k for k in load_file(os.path.join(adapter_dir, "adapter_model.safetensors")) if "magnitude" in k]
    res = {"use_dora": model.peft_config["default"].use_dora, "magnitude_keys": len(keys), "first": keys[:1],
           "max_logit_change": float((after - before).abs().max())}
    if merged_dir:
        ours = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
        with torch.no_grad():
            res["our_merged_vs_peft_max_abs_diff"] = float((ours(input_ids=ids).logits - after).abs().max())
    print(json.dumps(res))


def webui_merge(w, up, down, alpha, dora_scale, multiplier):
    """network.py: updown = up@down reshaped, * calc_scale(); apply_weight_decompose; * multiplier."""
    rank = down.shape[0]
    updown = (up.reshape(up.shape[0], -1) @ down.reshape(rank, -1)).reshape(w.shape) * (alpha / rank)
    merged = updown + w
    dims = w.dim() - 1
    norm = merged.transpose(0, 1).reshape(merged.shape[1], -1).norm(dim=1, keepdim=True).reshape(merged.shape[1], *[1] * dims).transpose(0, 1)
    updown = merged * (dora_scale / norm) - w
    return w + updown * multiplier


def comfy_merge(w, up, down, alpha, dora_scale, strength):
    """ComfyUI weight_decompose (input-axis branch): lora_diff * alpha/rank, norm of the sum + eps, strength blend."""
    rank = down.shape[0]
    diff = (up.reshape(up.shape[0], -1) @ down.reshape(rank, -1)).reshape(w.shape) * (alpha / rank)
    calc = w + diff
    norm = calc.transpose(0, 1).reshape(calc.shape[1], -1).norm(dim=1, keepdim=True).reshape(calc.shape[1], *[1] * (calc.dim() - 1)).transpose(0, 1)
    norm = norm + torch.finfo(w.dtype).eps
    calc = calc * (dora_scale / norm)
    return w + strength * (calc - w)


def webui(out):
    torch.manual_seed(7)
    cases = {}
    for name, wshape, dshape, ushape in (("linear", (5, 6), (3, 6), (5, 3)), ("conv3x3", (4, 3, 3, 3), (2, 3, 3, 3), (4, 2, 1, 1))):
        w = torch.randn(wshape, dtype=torch.float64)
        down = torch.randn(dshape, dtype=torch.float64) * 0.5
        up = torch.randn(ushape, dtype=torch.float64) * 0.5
        dims = len(wshape) - 1
        # LyCORIS' init (wd_on_output=False) then moved: the norm of W per input channel, times 1 + noise
        init = w.transpose(0, 1).reshape(wshape[1], -1).norm(dim=1, keepdim=True).reshape(wshape[1], *[1] * dims).transpose(0, 1)
        dora = init * (1 + 0.2 * torch.randn_like(init))
        alpha = 4.0
        c = {"weight": w.flatten().tolist(), "weight_shape": list(wshape), "down": down.flatten().tolist(), "down_shape": list(dshape),
             "up": up.flatten().tolist(), "up_shape": list(ushape), "alpha": alpha, "dora_scale": dora.flatten().tolist(),
             "dora_scale_shape": list(dora.shape)}
        for m in (1.0, 0.6):
            c[f"webui_merged_{m}"] = webui_merge(w, up, down, alpha, dora, m).flatten().tolist()
            c[f"comfy_merged_{m}"] = comfy_merge(w, up, down, alpha, dora, m).flatten().tolist()
        cases[name] = c
    with open(out, "w") as f:
        json.dump(cases, f)
    print("wrote", out)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "peft":
        peft_fixtures(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    elif len(sys.argv) >= 3 and sys.argv[1] == "webui":
        webui(sys.argv[2])
    else:
        sys.exit(__doc__)
