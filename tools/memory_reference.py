"""Peak live memory of one SD UNet LoRA training step in PyTorch eager (diffusers + peft) on the CPU.

The reference side of src/tools/java/org/lorascripts/bench/SdMemoryProfile.java: the same scaled-down
SD1.5-shaped UNet (block_out_channels 64,128,256,256, 2 layers per block, 8 heads, cross-attention 768),
random weights, rank-8 LoRA on the targets of shared/bench/bench_sd_peft.py through unet.add_adapter,
fp32, AdamW; one warm-up step, then one step under torch.profiler(profile_memory=True). It writes the
allocations and frees as the table our native layer writes (time ns, address, signed bytes, device type,
the running operators outermost first joined by " > "), so SdMemoryProfile analyses both the same way:

    PYTHONPATH=/path/to/diffusers/src python3 tools/memory_reference.py [latent=32] [batch=2] [ckpt=0] out.tsv
    java ... org.lorascripts.bench.SdMemoryProfile analyze out.tsv reference

It also prints its own peak (the same running sum) as a cross-check.
"""
import sys

import torch
from diffusers import UNet2DConditionModel
from peft import LoraConfig

TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2"]
CONFIG = dict(sample_size=32, in_channels=4, out_channels=4, layers_per_block=2,
              block_out_channels=(64, 128, 256, 256), cross_attention_dim=768, attention_head_dim=8,
              down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
              up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)


def rows(event, ops, out):
    """Appends the allocation rows under one event of the profiler's event tree."""
    kind = str(event.tag)
    if kind.endswith("Allocation"):
        f = event.extra_fields
        out.append((event.start_time_ns, int(f.ptr), int(f.alloc_size), 1 if str(f.device).startswith("cuda") else 0,
                    " > ".join(ops) if ops else "-"))
        return
    here = ops
    if kind.endswith("TorchOp") or kind.endswith("Backend"):
        here = ops + [event.name.replace("\t", " ").replace(">", " ")]
    for c in event.children:
        rows(c, here, out)


def peak(table):
    level = top = 0
    live = {}
    for t, ptr, size, dev, _ in sorted(table, key=lambda r: r[0]):
        if dev != 0:
            continue
        if size > 0:
            level += size - live.get(ptr, 0)
            live[ptr] = size
        else:
            level -= live.pop(ptr, -size)
        top = max(top, level)
    return top


def main():
    latent = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    ckpt = len(sys.argv) > 3 and sys.argv[3] not in ("0", "false")
    out_path = sys.argv[4] if len(sys.argv) > 4 else None
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**CONFIG)
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=8, lora_alpha=8, init_lora_weights="gaussian", target_modules=TARGETS))
    params = [p for p in unet.parameters() if p.requires_grad]
    if ckpt:
        unet.enable_gradient_checkpointing()
    unet.train()
    opt = torch.optim.AdamW(params, lr=1e-4)
    lat = torch.randn(batch, 4, latent, latent)
    emb = torch.randn(batch, 77, 768)

    def step():
        noise = torch.randn_like(lat)
        t = torch.randint(0, 1000, (batch,))
        pred = unet(lat + noise, t, emb).sample
        loss = torch.nn.functional.mse_loss(pred.float(), noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    table = []
    for e in prof.profiler.kineto_results.experimental_event_tree():
        rows(e, [], table)
    if out_path:
        with open(out_path, "w") as f:
            for r in table:
                f.write("%d\t%d\t%d\t%d\t%s\n" % r)
    print("reference latent=%d batch=%d ckpt=%s: peak %.1f MiB above the start (%d events)"
          % (latent, batch, ckpt, peak(table) / 2**20, len(table)))


if __name__ == "__main__":
    main()
