#!/usr/bin/env python3
"""UNet / VAE parity between diffusers and lora-scripts (run on a machine with torch; GPU optional).

Usage: sd_parity.py DIFFUSERS_SRC MODEL_DIR [--cp CLASSPATH] [--device cpu|cuda] [--tol 1e-4]

DIFFUSERS_SRC is a diffusers source checkout (its src/ is put first on sys.path, so no install is
needed beyond torch, safetensors, huggingface_hub and their dependencies). For each variant below it
creates a tiny random UNet2DConditionModel + AutoencoderKL, saves them with save_pretrained as a diffusers
folder under MODEL_DIR/<variant>, runs them on seeded inputs, then runs our
org.lorascripts.bench.SdParityDump on the same folder and inputs (java -cp CLASSPATH) and prints the
max abs difference of every output. Exits 1 when any difference exceeds --tol.
  sd1: SD 1.x style (1x1-conv proj_in/out, a head count for every block, CrossAttn down/up blocks)
  sd2: SD 2.x style (linear proj_in/out, per-block head counts [2, 4, 4], upcast_attention, 3 blocks)
CLASSPATH defaults to $LORA_CP, else target/lora-scripts.jar:target/lib/* of this repository.
Nothing written here is committed: outputs stay under MODEL_DIR.
"""
import argparse, json, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("diffusers_src")
ap.add_argument("model_dir")
ap.add_argument("--cp", default=None)
ap.add_argument("--device", default="cpu")
ap.add_argument("--tol", type=float, default=1e-4)
args = ap.parse_args()

src = os.path.join(args.diffusers_src, "src")
sys.path.insert(0, src if os.path.isdir(src) else args.diffusers_src)
import torch
from safetensors.torch import save_file, load_file
import diffusers
from diffusers import UNet2DConditionModel, AutoencoderKL

repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
cp = args.cp or os.environ.get("LORA_CP") or f"{repo}/target/lora-scripts.jar:{repo}/target/lib/*"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

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
}


def perturb(m, std):
    with torch.no_grad():
        for p in m.parameters():  # larger than the default init, so that mistakes show in the outputs
            p.add_(torch.randn_like(p) * std)
    return m.eval()


failed = False
for name, v in VARIANTS.items():
    d = os.path.join(args.model_dir, name)
    torch.manual_seed(0)
    unet = perturb(UNet2DConditionModel(**v["unet"]), 0.05)
    vae = perturb(AutoencoderKL(**v["vae"]), 0.05)
    unet.save_pretrained(os.path.join(d, "unet"), safe_serialization=True)
    vae.save_pretrained(os.path.join(d, "vae"), safe_serialization=True)
    os.makedirs(os.path.join(d, "scheduler"), exist_ok=True)
    with open(os.path.join(d, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "DDPMScheduler", "prediction_type": v["prediction"], "num_train_timesteps": 1000}, f)

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
    inputs_path = os.path.join(d, "inputs.safetensors")
    save_file(inputs, inputs_path)

    dev = torch.device(args.device)
    unet, vae = unet.to(dev), vae.to(dev)
    ref = {}
    with torch.no_grad():
        t, c = inputs["timesteps"].to(dev), inputs["encoder_hidden_states"].to(dev)
        ref["unet_out"] = unet(inputs["latents"].to(dev), t, c).sample
        ref["unet_out_odd"] = unet(inputs["latents_odd"].to(dev), t, c).sample
        dist = vae.encode(inputs["images"].to(dev)).latent_dist
        ref["vae_mean"], ref["vae_logvar"] = dist.mean, dist.logvar
        sf = vae.config.scaling_factor
        ref["vae_latents"] = (dist.mean + dist.std * inputs["vae_noise"].to(dev)) * sf
        ref["vae_decoded"] = vae.decode(inputs["latents"].to(dev) / sf).sample

    out_path = os.path.join(d, "ours.safetensors")
    cmd = ["java", "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", cp, "org.lorascripts.bench.SdParityDump",
           d, out_path, inputs_path, "cuda:0" if dev.type == "cuda" else "cpu", "f32"]
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd)
    if r.returncode != 0:
        print(f"{name}: SdParityDump failed with exit code {r.returncode}")
        failed = True
        continue
    ours = load_file(out_path)
    print(f"== {name} (diffusers {diffusers.__version__}, torch {torch.__version__}, {args.device})")
    for k, want in ref.items():
        got = ours[k].to(want.device)
        if got.shape != want.shape:
            print(f"  {k:14s} SHAPE {tuple(got.shape)} vs diffusers {tuple(want.shape)}")
            failed = True
            continue
        diff = (got - want.float()).abs().max().item()
        scale = want.abs().max().item()
        ok = diff <= args.tol * max(1.0, scale)
        failed |= not ok
        print(f"  {k:14s} max abs diff {diff:.3e}  (max |ref| {scale:.3e})  {'ok' if ok else 'MISMATCH'}")

sys.exit(1 if failed else 0)
