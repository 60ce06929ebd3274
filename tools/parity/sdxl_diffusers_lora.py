#!/usr/bin/env python3
"""Does diffusers' SDXL LoRA loader read our kohya SDXL LoRA onto exactly the UNet modules we trained, with the
same effect? (CPU is enough; torch, safetensors, peft and a diffusers source tree are needed.)

Usage: sdxl_diffusers_lora.py DIFFUSERS_SRC MODEL LORA OUT_DIR [--cp CLASSPATH] [--tol 1e-4]

MODEL is an SDXL checkpoint our loader opens (a single file, a diffusers folder or builtin:tiny-sdxl), LORA a
kohya SDXL LoRA trained on it (e.g. by `./lora train --config examples/quickstart-sdxl.yaml --set
train_text_encoder=true`). org.lorascripts.bench.SdxlLoraDiffusersDump writes the base's UNet as a diffusers
folder, seeded inputs, our UNet output without and with the LoRA, and the diffusers names of the modules the
LoRA lands on in our model. Here diffusers loads that UNet, reads the LoRA the way
StableDiffusionXLPipeline.load_lora_weights does (lora_state_dict with the UNet's config, then
load_lora_into_unet, through peft) and checks:
  - the modules that received LoRA layers are exactly ours (names, and their count);
  - the UNet output without the LoRA equals ours, and with it equals ours with it (max abs diff <= tol x scale).
The text-encoder keys (lora_te1_/lora_te2_) are not loaded here: transformers 5.x renamed the CLIP modules, so
diffusers' converter no longer maps kohya's text-encoder names; WebUI's and ComfyUI's rules are checked by our
tests instead. Exits 1 on any mismatch.
"""
import argparse, json, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("diffusers_src")
ap.add_argument("model")
ap.add_argument("lora")
ap.add_argument("out_dir")
ap.add_argument("--cp", default=None)
ap.add_argument("--tol", type=float, default=1e-4)
args = ap.parse_args()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import use_diffusers, exact_fp32, class_path
use_diffusers(args.diffusers_src)
import torch
from safetensors.torch import load_file
import diffusers
from diffusers import UNet2DConditionModel, StableDiffusionXLPipeline

cp = class_path(args.cp)
exact_fp32(torch)

cmd = ["java", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", cp, "org.lorascripts.bench.SdxlLoraDiffusersDump",
       args.model, args.lora, args.out_dir]
print("$", " ".join(cmd), flush=True)
if subprocess.run(cmd).returncode != 0:
    print("SdxlLoraDiffusersDump failed")
    sys.exit(1)

unet = UNet2DConditionModel.from_pretrained(os.path.join(args.out_dir, "unet")).eval()
inputs = load_file(os.path.join(args.out_dir, "inputs.safetensors"))
ours = load_file(os.path.join(args.out_dir, "ours.safetensors"))
ours_modules = set(json.load(open(os.path.join(args.out_dir, "modules.json")))["unet"])


def run():
    with torch.no_grad():
        return unet(inputs["latents"], inputs["timesteps"], inputs["encoder_hidden_states"],
                    added_cond_kwargs={"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}).sample


failed = False


def compare(name, got, want):
    global failed
    diff = (got - want).abs().max().item()
    scale = want.abs().max().item()
    ok = diff <= args.tol * max(1.0, scale)
    failed |= not ok
    print(f"  {name:22s} max abs diff {diff:.3e}  (max |ref| {scale:.3e})  {'ok' if ok else 'MISMATCH'}")


print(f"== SDXL kohya LoRA through diffusers {diffusers.__version__} (torch {torch.__version__})")
base = run()
compare("unet without LoRA", ours["unet_base"], base)

state_dict = load_file(args.lora)
unet_keys = [k for k in state_dict if k.startswith("lora_unet_")]
te_keys = [k for k in state_dict if k.startswith("lora_te")]
sd, alphas = StableDiffusionXLPipeline.lora_state_dict({k: state_dict[k] for k in unet_keys}, unet_config=unet.config)
StableDiffusionXLPipeline.load_lora_into_unet(sd, alphas, unet=unet, adapter_name="ours")
theirs = set()
for name, module in unet.named_modules():
    lora_a = getattr(module, "lora_A", None)
    if lora_a is not None and "ours" in lora_a:
        theirs.add(name)
missing, extra = sorted(ours_modules - theirs), sorted(theirs - ours_modules)
ok = not missing and not extra
failed |= not ok
print(f"  {'modules':22s} {len(theirs)} with diffusers, {len(ours_modules)} in ours  {'ok' if ok else 'MISMATCH'}"
      + (f"; only ours: {missing[:4]}" if missing else "") + (f"; only diffusers: {extra[:4]}" if extra else ""))
print(f"  ({len(unet_keys)} lora_unet_ tensors loaded, {len(te_keys)} text-encoder tensors left to WebUI's rules)")
with_lora = run()
moved = (with_lora - base).abs().max().item()
print(f"  {'LoRA effect':22s} the LoRA moves diffusers' output by up to {moved:.3e}  {'ok' if moved > 1e-4 else 'NO EFFECT'}")
failed |= moved <= 1e-4
compare("unet with LoRA", ours["unet_lora"], with_lora)
sys.exit(1 if failed else 0)
