#!/usr/bin/env python3
"""UNet / VAE / SDXL text encoder parity between diffusers + transformers and lora-scripts
(run on a machine with torch; GPU optional).

Usage: sd_parity.py DIFFUSERS_SRC MODEL_DIR [--cp CLASSPATH] [--device cpu|cuda] [--tol 1e-4]
                    [--variants sd1,sd2,sdxl]

DIFFUSERS_SRC is a diffusers source checkout (its src/ is put first on sys.path, so no install is
needed beyond torch, safetensors, huggingface_hub and their dependencies; the sdxl variant also needs
transformers, 4.x or 5.x). For each variant below it creates tiny random models, saves them as a
diffusers folder under MODEL_DIR/<variant>, runs them on seeded inputs, then runs our
org.lorascripts.bench.SdParityDump on the same folder and inputs (java -cp CLASSPATH) and prints one
line per output with its max abs difference. Exits 1 when any difference exceeds
--tol * max(1, max |reference|), an output is missing or has another shape, or the dumper fails.
  sd1:  SD 1.x style (1x1-conv proj_in/out, a head count for every block, CrossAttn down/up blocks)
  sd2:  SD 2.x style (linear proj_in/out, per-block head counts [2, 4, 4], upcast_attention, 3 blocks)
  sdxl: SDXL base layout: UNet with 3 levels (the first without attention, 2 resnets each),
        transformer_layers_per_block (1, 2, 3) (mid block 3), linear projections, the added condition
        addition_embed_type="text_time" (time ids embedded in 8 channels, pooled text 96 + 6 x 8 = 144
        features), cross_attention_dim 64 + 128 = 192; a VAE with SDXL's scaling factor 0.13025; and
        the two text encoders from transformers: text_encoder/ a CLIPTextModel (quick_gelu, width 64,
        1 head, 3 layers), text_encoder_2/ a CLIPTextModelWithProjection (gelu, width 128, 2 heads,
        3 layers, projection 96), both with the real 49408-token vocabulary and SDXL's config ids
        (eos_token_id 2: pooling at the argmax of the ids). Compared besides the UNet (called with
        added_cond_kwargs={"text_embeds", "time_ids"}) and VAE outputs: te1_penultimate and
        te2_penultimate (hidden_states[-2], no final norm, what SDXL's UNet is conditioned on) and
        te2_pooled (TE2's text_embeds, the pooled added condition), on fixed id rows of 5 and 30 tokens
        (BOS 49406, words, EOS 49407, then TE1's pad 49407 / TE2's pad 0).
        Then one LoRA training step on that UNet: org.lorascripts.bench.SdxlLoraGradDump attaches
        rank-4 alpha-2 adapters where our training does (every Linear inside attentions.N, as kohya),
        with random up matrices, and writes their values, the MSE loss against a target, the output
        and the gradients; the same adapters go onto diffusers' modules of the same names as forward
        hooks and the same loss is backpropagated. Lines: lora_targets (the adapted modules are
        exactly diffusers' Linear/Conv2d inside attentions.N), lora_effect (the adapters move the
        output), lora_loss, lora_unet_out, lora_down_grad and lora_up_grad (all adapters' gradients
        concatenated; tolerance relative to max |gradient|).
Random weights are the default init perturbed by N(0, 0.05) everywhere (biases and norms included), so
that a swapped or misplaced tensor shows in the outputs.

On the GPU machine (the repository root, with the jar, its lib/ and the compiled test classes under
.device/app, and a diffusers checkout at DIFFUSERS_SRC):
  python3 tools/parity/sd_parity.py DIFFUSERS_SRC OUT_DIR \\
      --cp '.device/app/lora-scripts.jar:.device/app/lib/*:.device/app/test-classes:.' \\
      --device cuda --variants sdxl
(--variants sd1,sd2,sdxl, the default, runs all three.) CLASSPATH defaults to $LORA_CP, else
target/lora-scripts.jar:target/lib/*:target/test-classes of this repository (SdParityDump lives in
src/tools/java, which compiles with the tests). Nothing written here is committed: outputs stay under
MODEL_DIR.
"""
import argparse, json, os, subprocess, sys

ALL_VARIANTS = ("sd1", "sd2", "sdxl")
ap = argparse.ArgumentParser()
ap.add_argument("diffusers_src")
ap.add_argument("model_dir")
ap.add_argument("--cp", default=None)
ap.add_argument("--device", default="cpu")
ap.add_argument("--tol", type=float, default=1e-4)
ap.add_argument("--variants", default=",".join(ALL_VARIANTS), help="comma-separated subset of " + ", ".join(ALL_VARIANTS))
args = ap.parse_args()
chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
unknown = [v for v in chosen if v not in ALL_VARIANTS]
if unknown or not chosen:
    ap.error(f"--variants: unknown {unknown or args.variants!r}; choose from {', '.join(ALL_VARIANTS)}")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import use_diffusers, exact_fp32, class_path
use_diffusers(args.diffusers_src)
import torch
from safetensors.torch import save_file, load_file
import diffusers
from diffusers import UNet2DConditionModel, AutoencoderKL

cp = class_path(args.cp)
exact_fp32(torch)

# SDXL's text encoders at test size (as src/test/java/.../clip/TinySdxlText.java)
TE1 = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=1, hidden_act="quick_gelu", projection_dim=64)
TE2 = dict(hidden_size=128, intermediate_size=160, num_hidden_layers=3, num_attention_heads=2, hidden_act="gelu", projection_dim=96)
TIME_ID_WIDTH = 8

VARIANTS = {
    "sd1": dict(unet=dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=2,
                          down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                          cross_attention_dim=32, attention_head_dim=2, norm_num_groups=32),
                vae=dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), layers_per_block=1,
                         down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8,
                         sample_size=16),
                prediction="epsilon"),
    "sd2": dict(unet=dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64, 64), layers_per_block=1,
                          down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                          up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                          cross_attention_dim=48, attention_head_dim=(2, 4, 4), use_linear_projection=True, upcast_attention=True,
                          norm_num_groups=16),
                vae=dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32, 32), layers_per_block=2,
                         down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3, norm_num_groups=8,
                         sample_size=32),
                prediction="v_prediction"),
    "sdxl": dict(unet=dict(sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64, 64), layers_per_block=2,
                           down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                           up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                           cross_attention_dim=TE1["hidden_size"] + TE2["hidden_size"], attention_head_dim=(2, 2, 4),
                           transformer_layers_per_block=(1, 2, 3), use_linear_projection=True, norm_num_groups=32,
                           addition_embed_type="text_time", addition_time_embed_dim=TIME_ID_WIDTH,
                           projection_class_embeddings_input_dim=TE2["projection_dim"] + 6 * TIME_ID_WIDTH),
                 vae=dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), layers_per_block=1,
                          down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8,
                          sample_size=16, scaling_factor=0.13025),
                 text=(TE1, TE2),
                 prediction="epsilon"),
}


def perturb(m, std):
    with torch.no_grad():
        for p in m.parameters():  # larger than the default init, so that mistakes show in the outputs
            p.add_(torch.randn_like(p) * std)
    return m.eval()


# ---- SDXL's text encoders (transformers) ----

def clip_config(spec):
    from transformers import CLIPTextConfig
    # SDXL's text_encoder[_2]/config.json ids: bos 0, eos 2 (the legacy value: pooling at the argmax of the ids), pad 1
    return CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, layer_norm_eps=1e-5, attention_dropout=0.0, dropout=0.0,
                          bos_token_id=0, eos_token_id=2, pad_token_id=1, **spec)


def config_json(spec, architecture):
    """text_encoder[_2]/config.json as SDXL's (and TinySdxlText's) carry it; written by hand so that it does not depend on the transformers version."""
    return json.dumps({"architectures": [architecture], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
                       "hidden_act": spec["hidden_act"], "hidden_size": spec["hidden_size"], "initializer_factor": 1.0,
                       "initializer_range": 0.02, "intermediate_size": spec["intermediate_size"], "layer_norm_eps": 1e-05,
                       "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": spec["num_attention_heads"],
                       "num_hidden_layers": spec["num_hidden_layers"], "pad_token_id": 1, "projection_dim": spec["projection_dim"],
                       "torch_dtype": "float32", "vocab_size": 49408}, indent=2) + "\n"


def special_tokens_json(pad):
    tok = lambda s: {"content": s, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return json.dumps({"bos_token": tok("<|startoftext|>"), "eos_token": tok("<|endoftext|>"), "pad_token": pad,
                       "unk_token": tok("<|endoftext|>")}, indent=2) + "\n"


def is_buffer_name(k):
    return k.endswith("position_ids")


def canonical_text_state(model):
    """The model's tensors under the names SDXL's diffusers folders use: text_model.* and text_projection.weight."""
    out = {}
    for k, v in model.state_dict().items():
        if is_buffer_name(k):
            continue
        ck = k if k.startswith("text_model.") or k.startswith("text_projection.") else "text_model." + k
        out[ck] = v.detach().float().contiguous().clone()
    return out


def load_text_model(cls, config, file, label):
    """A fresh model built from its config, loaded from the file we wrote, with names mapped to whatever this transformers
    version calls them; fails unless every tensor of the model (but position_ids buffers) comes from the file."""
    model = cls(config).float()
    model_keys = set(model.state_dict().keys())
    state, renamed, unused = {}, [], []
    for k, v in load_file(file).items():
        for cand in (k, k[len("text_model."):] if k.startswith("text_model.") else None, "text_model." + k):
            if cand is not None and cand in model_keys:
                state[cand] = v
                if cand != k:
                    renamed.append((k, cand))
                break
        else:
            unused.append(k)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not is_buffer_name(k)]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected or unused:
        raise SystemExit(f"{label}: the file's tensors do not fit {cls.__name__}: missing {missing}, unexpected {unexpected}, unused {unused}")
    how = f"{len(renamed)} renamed (e.g. {renamed[0][0]} -> {renamed[0][1]})" if renamed else "names as in the file"
    skipped = sorted(model_keys - set(state))
    print(f"  {label}: {cls.__name__} loaded {len(state)} tensors from {os.path.basename(os.path.dirname(file))}/{os.path.basename(file)}, "
          f"{how}; left at init: {skipped or 'nothing'}", flush=True)
    return model.eval()


def text_reference(model, ids, layers, label):
    """(hidden_states[-2], text_embeds or None): the penultimate layer's output without final norm, as diffusers' SDXL pipeline
    takes it, cross-checked against a forward hook on the encoder's second-to-last layer."""
    tm = getattr(model, "text_model", model)
    captured = {}
    hook = tm.encoder.layers[-2].register_forward_hook(
        lambda mod, inp, out: captured.__setitem__("h", out[0] if isinstance(out, (tuple, list)) else out))
    try:
        out = model(input_ids=ids, output_hidden_states=True)
    finally:
        hook.remove()
    hooked = captured["h"]
    hs = getattr(out, "hidden_states", None)
    if hs is None:
        print(f"  {label}: no hidden_states in the output; using the output of layer {layers - 2} (hook)", flush=True)
        pen = hooked
    else:
        if len(hs) != layers + 1:
            raise SystemExit(f"{label}: {len(hs)} hidden states for {layers} layers (expected embeddings + one per layer)")
        pen = hs[-2]
        d = (pen - hooked).abs().max().item()
        if d != 0:
            print(f"  {label}: note: hidden_states[-2] and layer {layers - 2}'s output differ by {d:.3e}; comparing with hidden_states[-2]", flush=True)
    return pen, getattr(out, "text_embeds", None)


def prompt_ids(g, pad, lengths=(5, 30)):
    """(B, 77) int64: BOS 49406, random word ids, EOS 49407, then pad (TE1: 49407, TE2: 0)."""
    rows = []
    for n in lengths:
        words = torch.randint(1, 49406, (n,), generator=g, dtype=torch.int64)
        row = torch.full((77,), pad, dtype=torch.int64)
        row[0] = 49406
        row[1:n + 1] = words
        row[n + 1] = 49407
        rows.append(row)
    return torch.stack(rows)


def write_sdxl_text(d, specs, seed):
    """text_encoder[_2]/ (model.safetensors + config.json) and tokenizer[_2]/special_tokens_map.json; returns the two files."""
    from transformers import CLIPTextModel, CLIPTextModelWithProjection
    files = []
    for i, (spec, cls, folder, tok, pad) in enumerate(((specs[0], CLIPTextModel, "text_encoder", "tokenizer", "<|endoftext|>"),
                                                       (specs[1], CLIPTextModelWithProjection, "text_encoder_2", "tokenizer_2", "!"))):
        torch.manual_seed(seed + i)
        m = perturb(cls(clip_config(spec)).float(), 0.05)
        if not all(torch.isfinite(p).all() for p in m.parameters()):
            raise SystemExit(f"{folder}: {cls.__name__}'s initial weights are not all finite")
        os.makedirs(os.path.join(d, folder), exist_ok=True)
        os.makedirs(os.path.join(d, tok), exist_ok=True)
        f = os.path.join(d, folder, "model.safetensors")
        save_file(canonical_text_state(m), f, metadata={"format": "pt"})
        with open(os.path.join(d, folder, "config.json"), "w") as fh:
            fh.write(config_json(spec, cls.__name__))
        with open(os.path.join(d, tok, "special_tokens_map.json"), "w") as fh:
            fh.write(special_tokens_json(pad))
        files.append(f)
    with open(os.path.join(d, "model_index.json"), "w") as fh:
        json.dump({"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": diffusers.__version__,
                   "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
                   "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"]}, fh, indent=2)
    return files


# ---- one variant ----

def run_variant(name, v):
    d = os.path.join(args.model_dir, name)
    sdxl = "text" in v
    torch.manual_seed(0)
    unet = perturb(UNet2DConditionModel(**v["unet"]), 0.05)
    vae = perturb(AutoencoderKL(**v["vae"]), 0.05)
    unet.save_pretrained(os.path.join(d, "unet"), safe_serialization=True)
    vae.save_pretrained(os.path.join(d, "vae"), safe_serialization=True)
    os.makedirs(os.path.join(d, "scheduler"), exist_ok=True)
    with open(os.path.join(d, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "DDPMScheduler", "prediction_type": v["prediction"], "num_train_timesteps": 1000}, f)
    text_files = write_sdxl_text(d, v["text"], 100) if sdxl else None

    f = 2 ** (len(v["vae"]["block_out_channels"]) - 1)
    g = torch.Generator().manual_seed(1)
    ctx = v["unet"]["cross_attention_dim"]
    inputs = {
        "latents": torch.randn(2, 4, 8, 12, generator=g),
        "latents_odd": torch.randn(2, 4, 9, 7, generator=g),
        "timesteps": torch.tensor([999, 37], dtype=torch.int64),
        "encoder_hidden_states": torch.randn(2, 77, ctx, generator=g),
        "images": torch.rand(2, 3, 8 * f, 12 * f, generator=g) * 2 - 1,
        "vae_noise": torch.randn(2, 4, 8, 12, generator=g),
    }
    if sdxl:
        pooled = v["unet"]["projection_class_embeddings_input_dim"] - 6 * v["unet"]["addition_time_embed_dim"]
        inputs["text_embeds"] = torch.randn(2, pooled, generator=g)
        # [original h, w, crop top, left, target h, w]: a square image and a cropped landscape one
        inputs["time_ids"] = torch.tensor([[1024, 1024, 0, 0, 1024, 1024], [768, 1344, 32, 64, 1024, 1024]], dtype=torch.float32)
        inputs["te1_input_ids"] = prompt_ids(g, 49407)
        inputs["te2_input_ids"] = prompt_ids(g, 0)
        inputs["target"] = torch.randn(2, 4, 8, 12, generator=g)  # the LoRA step's regression target
    inputs_path = os.path.join(d, "inputs.safetensors")
    save_file(inputs, inputs_path)

    dev = torch.device(args.device)
    unet, vae = unet.to(dev), vae.to(dev)
    ref = {}
    with torch.no_grad():
        t, c = inputs["timesteps"].to(dev), inputs["encoder_hidden_states"].to(dev)
        added = {"text_embeds": inputs["text_embeds"].to(dev), "time_ids": inputs["time_ids"].to(dev)} if sdxl else None
        ref["unet_out"] = unet(inputs["latents"].to(dev), t, c, added_cond_kwargs=added).sample
        ref["unet_out_odd"] = unet(inputs["latents_odd"].to(dev), t, c, added_cond_kwargs=added).sample
        dist = vae.encode(inputs["images"].to(dev)).latent_dist
        ref["vae_mean"], ref["vae_logvar"] = dist.mean, dist.logvar
        sf = vae.config.scaling_factor
        ref["vae_latents"] = (dist.mean + dist.std * inputs["vae_noise"].to(dev)) * sf
        ref["vae_decoded"] = vae.decode(inputs["latents"].to(dev) / sf).sample
        if sdxl:
            from transformers import CLIPTextModel, CLIPTextModelWithProjection
            te1_spec, te2_spec = v["text"]
            te1 = load_text_model(CLIPTextModel, clip_config(te1_spec), text_files[0], "te1").to(dev)
            te2 = load_text_model(CLIPTextModelWithProjection, clip_config(te2_spec), text_files[1], "te2").to(dev)
            ref["te1_penultimate"], _ = text_reference(te1, inputs["te1_input_ids"].to(dev), te1_spec["num_hidden_layers"], "te1")
            ref["te2_penultimate"], ref["te2_pooled"] = text_reference(te2, inputs["te2_input_ids"].to(dev), te2_spec["num_hidden_layers"], "te2")
            if ref["te2_pooled"] is None:
                raise SystemExit("te2: CLIPTextModelWithProjection gave no text_embeds")

    out_path = os.path.join(d, "ours.safetensors")
    cmd = ["java", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", cp, "org.lorascripts.bench.SdParityDump",
           d, out_path, inputs_path, "cuda:0" if dev.type == "cuda" else "cpu", "f32"]
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print(f"{name}: SdParityDump failed with exit code {r.returncode}")
        return False
    ours = load_file(out_path)
    versions = f"diffusers {diffusers.__version__}, torch {torch.__version__}"
    if sdxl:
        import transformers
        versions += f", transformers {transformers.__version__}"
    print(f"== {name} ({versions}, {args.device})")
    ok_all = True
    for k, want in ref.items():
        ok_all &= compare(k, ours.get(k), want)
    if sdxl:
        ok_all &= lora_grad_parity(d, unet, inputs, inputs_path, dev, ref["unet_out"])
    return ok_all


def compare(k, got, want, relative=False):
    """One line: the max abs difference of our output from the reference; within --tol * max(1, max |ref|), or with relative
    (gradients, which are small) --tol * max |ref|."""
    if got is None:
        print(f"  {k:16s} MISSING from our output  MISMATCH")
        return False
    got = got.to(want.device)
    if got.shape != want.shape:
        print(f"  {k:16s} SHAPE {tuple(got.shape)} vs reference {tuple(want.shape)}  MISMATCH")
        return False
    diff = (got.float() - want.float()).abs().max().item()
    scale = want.abs().max().item()
    ok = diff <= args.tol * (scale if relative else max(1.0, scale)) and scale > 0  # NaN compares False: a NaN fails
    print(f"  {k:16s} max abs diff {diff:.3e}  (max |ref| {scale:.3e})  {'ok' if ok else 'MISMATCH'}")
    return ok


def lora_grad_parity(d, unet, inputs, inputs_path, dev, unet_out):
    """One LoRA training step on the SDXL UNet: our org.lorascripts.bench.SdxlLoraGradDump attaches adapters where training does,
    writes their starting values, the loss, the output and the gradients; here the same adapters (same values, scale alpha / rank)
    go onto diffusers' modules of the same names as forward hooks, and the same loss is backpropagated."""
    import re
    import torch.nn as nn
    import torch.nn.functional as F
    from safetensors import safe_open
    out_path = os.path.join(d, "lora_grads.safetensors")
    cmd = ["java", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", cp, "org.lorascripts.bench.SdxlLoraGradDump",
           d, out_path, inputs_path, "cuda:0" if dev.type == "cuda" else "cpu"]
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print(f"  lora step: SdxlLoraGradDump failed with exit code {r.returncode}  MISMATCH")
        return False
    with safe_open(out_path, "pt") as fh:
        lora_scale = float(fh.metadata()["scale"])
    ours = load_file(out_path)
    names = sorted(k[:-len(".lora_down.weight")] for k in ours if k.endswith(".lora_down.weight"))
    # kohya's SDXL UNet LoRA (and ours) targets every Linear / Conv2d inside a Transformer2DModel (attentions.N)
    expected = sorted(n for n, m in unet.named_modules()
                      if isinstance(m, (nn.Linear, nn.Conv2d)) and re.search(r"(^|\.)attentions\.\d+\.", n))
    ok = names == expected
    print(f"  {'lora_targets':16s} {len(names)} adapters, diffusers has {len(expected)} such modules"
          + ("" if ok else f"; ours only: {sorted(set(names) - set(expected))[:5]}, diffusers only: {sorted(set(expected) - set(names))[:5]}")
          + f"  {'ok' if ok else 'MISMATCH'}")
    if not names:
        return False
    unet.requires_grad_(False)
    params, hooks = {}, []
    for n in names:
        if n not in dict(unet.named_modules()):
            continue
        down = ours[n + ".lora_down.weight"].to(dev).requires_grad_(True)
        up = ours[n + ".lora_up.weight"].to(dev).requires_grad_(True)
        params[n] = (down, up)

        def hook(mod, inp, out, down=down, up=up):
            x = inp[0]
            if isinstance(mod, nn.Linear):
                delta = F.linear(F.linear(x, down), up)
            else:
                delta = F.conv2d(F.conv2d(x, down, stride=mod.stride, padding=mod.padding), up)
            return out + lora_scale * delta
        hooks.append(unet.get_submodule(n).register_forward_hook(hook))
    try:
        with torch.enable_grad():
            added = {"text_embeds": inputs["text_embeds"].to(dev), "time_ids": inputs["time_ids"].to(dev)}
            pred = unet(inputs["latents"].to(dev), inputs["timesteps"].to(dev), inputs["encoder_hidden_states"].to(dev),
                        added_cond_kwargs=added).sample
            loss = F.mse_loss(pred.float(), inputs["target"].to(dev))
            loss.backward()
    finally:
        for h in hooks:
            h.remove()
    effect = (pred.detach() - unet_out).abs().max().item()
    print(f"  {'lora_effect':16s} the adapters move the UNet output by up to {effect:.3e}  {'ok' if effect > 1e-3 else 'MISMATCH (too small to test)'}")
    ok &= effect > 1e-3
    ok &= compare("lora_loss", ours["lora_loss"], loss.detach().reshape(1))
    ok &= compare("lora_unet_out", ours["lora_unet_out"], pred.detach())
    for part, i in (("down", 0), ("up", 1)):
        got = torch.cat([ours[f"{n}.lora_{part}.grad"].flatten() for n in params])
        want = torch.cat([params[n][i].grad.flatten() for n in params])
        ok &= compare(f"lora_{part}_grad", got, want, relative=True)
    return ok


failed = False
for name in chosen:
    failed |= not run_variant(name, VARIANTS[name])
sys.exit(1 if failed else 0)
