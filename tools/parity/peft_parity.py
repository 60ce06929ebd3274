#!/usr/bin/env python3
"""Checks our PEFT adapters and merged models against peft and transformers (GPU machine).

For a tiny random LlamaForCausalLM and Qwen2ForCausalLM saved with save_pretrained: our Java side
(org.lorascripts.bench.PeftParityDump) trains a LoRA for a few steps, exports it as a PEFT adapter,
writes its logits and a merged model folder. Here peft loads our adapter onto the same base and
its logits are compared with ours; our merged folder is compared with peft's merge_and_unload().
Usage: peft_parity.py JAVA_CLASSPATH [WORKDIR]     (prints one JSON line per model; exit 1 on mismatch)
"""
import json, os, subprocess, sys, tempfile
import torch
from safetensors.torch import save_file, load_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from peft import PeftModel

cp = sys.argv[1]
work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
torch.manual_seed(0)
models = {
    "llama": LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)),
    "qwen2": Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)),
}
ok = True
for name, model in models.items():
    for targets in ("q_proj,k_proj,v_proj,o_proj", "all-linear"):
        d = os.path.join(work, name + "-" + targets.replace(",", "_"))
        base, out = os.path.join(d, "base"), os.path.join(d, "out")
        os.makedirs(out, exist_ok=True)
        model.eval().save_pretrained(base, safe_serialization=True)
        ids = torch.randint(0, 256, (2, 24))
        save_file({"input_ids": ids}, os.path.join(out, "inputs.safetensors"))
        r = subprocess.run(["java", "--enable-native-access=ALL-UNNAMED", "-cp", cp, "org.lorascripts.bench.PeftParityDump",
                            base, out, targets], capture_output=True, text=True)
        if r.returncode != 0:
            print(json.dumps({"model": name, "targets": targets, "error": r.stdout[-2000:] + r.stderr[-2000:]}))
            ok = False
            continue
        ours = load_file(os.path.join(out, "java_logits.safetensors"))["logits"].float()
        base_model = AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32).eval()
        with torch.no_grad():
            before = base_model(input_ids=ids).logits
        peft_model = PeftModel.from_pretrained(base_model, os.path.join(out, "adapter")).eval()
        with torch.no_grad():
            theirs = peft_model(input_ids=ids).logits
            merged_ref = peft_model.merge_and_unload()(input_ids=ids).logits
            merged_ours = AutoModelForCausalLM.from_pretrained(os.path.join(out, "merged"), torch_dtype=torch.float32).eval()(input_ids=ids).logits
        res = {"model": name, "targets": targets,
               "adapter_effect": float((theirs - before).abs().max()),
               "peft_vs_ours_max_abs_diff": float((theirs - ours).abs().max()),
               "merged_ours_vs_merge_and_unload_max_abs_diff": float((merged_ours - merged_ref).abs().max())}
        res["ok"] = res["adapter_effect"] > 1e-3 and res["peft_vs_ours_max_abs_diff"] < 1e-4 and res["merged_ours_vs_merge_and_unload_max_abs_diff"] < 1e-4
        ok &= res["ok"]
        print(json.dumps(res), flush=True)
print("all matched" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
