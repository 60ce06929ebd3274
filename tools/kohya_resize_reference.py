#!/usr/bin/env python3
"""Reference files for src/test/java/org/lorascripts/lora/KohyaResizeParityTest.java: runs kohya sd-scripts'
own networks/resize_lora.py (from a checkout given as the first argument) on a small LoRA with known
singular-value spectra, for a fixed and the three dynamic methods, and writes the input and kohya's outputs
to src/test/resources/lora-resize/.

    /tmp/ptenv/bin/python3 tools/kohya_resize_reference.py SD_SCRIPTS_DIR

resize_lora.py imports sd-scripts' `library` package (train_util, model_util, utils), which pulls in
diffusers and more; this tool puts minimal stand-ins for the three names it uses on the path instead:
model_util.is_safetensors, utils.setup_logging and train_util.precalculate_safetensors_hashes (the
hashes are not compared). Everything else is kohya's code as published.
"""
import os
import subprocess
import sys
import tempfile
import textwrap

import torch
from safetensors.torch import save_file

OUT = "src/test/resources/lora-resize"


def orthonormal(rows, cols, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(rows, cols, generator=g, dtype=torch.float64))
    return q


def make_input(path):
    sd = {}
    # linear (out 24, in 20), rank 8, alpha 4
    s = torch.tensor([10, 5, 3, 2, 1, 0.5, 0.2, 0.1], dtype=torch.float64)
    u, v = orthonormal(24, 8, 1), orthonormal(20, 8, 2)
    sd["lora_unet_a_attn1_to_q.lora_up.weight"] = (u * s).float()
    sd["lora_unet_a_attn1_to_q.lora_down.weight"] = v.T.contiguous().float()
    sd["lora_unet_a_attn1_to_q.alpha"] = torch.tensor(4.0)
    # linear (out 16, in 16), rank 6, alpha 6, flatter spectrum
    s = torch.tensor([4, 3.5, 3, 2.5, 2, 1.5], dtype=torch.float64)
    u, v = orthonormal(16, 6, 3), orthonormal(16, 6, 4)
    sd["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"] = (u * s).float()
    sd["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight"] = v.T.contiguous().float()
    sd["lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"] = torch.tensor(6.0)
    # conv 3x3 (out 12, in 4), rank 4, alpha 1
    s = torch.tensor([6, 2, 1, 0.25], dtype=torch.float64)
    u, v = orthonormal(12, 4, 5), orthonormal(36, 4, 6)
    sd["lora_unet_b_resnets_0_conv1.lora_up.weight"] = (u * s).float().reshape(12, 4, 1, 1)
    sd["lora_unet_b_resnets_0_conv1.lora_down.weight"] = v.T.contiguous().float().reshape(4, 4, 3, 3)
    sd["lora_unet_b_resnets_0_conv1.alpha"] = torch.tensor(1.0)
    sd = {k: t.contiguous() for k, t in sd.items()}
    save_file(sd, path, {"ss_network_dim": "8", "ss_network_alpha": "4.0", "ss_training_comment": "parity input"})


STUBS = {
    "library/__init__.py": "",
    "library/model_util.py": "def is_safetensors(p):\n    return p.endswith('.safetensors')\n",
    "library/utils.py": "import logging\ndef setup_logging(*a, **k):\n    logging.basicConfig(level=logging.WARNING)\n",
    "library/train_util.py": "def precalculate_safetensors_hashes(sd, metadata):\n    return 'x', 'y'\n",
}

RUNS = {
    "fixed_r4_conv2": ["--new_rank", "4", "--new_conv_rank", "2"],
    "sv_fro_0.9": ["--new_rank", "8", "--dynamic_method", "sv_fro", "--dynamic_param", "0.9"],
    "sv_ratio_8": ["--new_rank", "8", "--dynamic_method", "sv_ratio", "--dynamic_param", "8"],
    "sv_cumulative_0.8": ["--new_rank", "8", "--dynamic_method", "sv_cumulative", "--dynamic_param", "0.8"],
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sd_scripts = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    src = os.path.join(OUT, "input.safetensors")
    make_input(src)
    with tempfile.TemporaryDirectory() as stub:
        for name, text in STUBS.items():
            os.makedirs(os.path.dirname(os.path.join(stub, name)), exist_ok=True)
            with open(os.path.join(stub, name), "w") as f:
                f.write(text)
        env = dict(os.environ, PYTHONPATH=stub)
        for name, args in RUNS.items():
            dst = os.path.join(OUT, name + ".safetensors")
            subprocess.run([sys.executable, os.path.join(sd_scripts, "networks", "resize_lora.py"), "--model", src, "--save_to", dst]
                           + args, check=True, env=env)
            print("wrote", dst)


if __name__ == "__main__":
    main()
