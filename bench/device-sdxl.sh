#!/usr/bin/env bash
# GPU-machine SDXL run. Usage: bash .device/on-device.sh bash bench/device-sdxl.sh [check|bench|all]
#   check: SDXL parity with diffusers/transformers on CUDA (UNet with added conditions, both text encoders,
#          VAE, one LoRA step's gradients); a full-size SDXL single file with random weights in the real key
#          layout (SdxlRandomCheckpoint) trained through ./lora train at the 24 GB card setting (fp16,
#          gradient checkpointing, 512x512, batch 2), UNet only and with both text encoders; the SDXL
#          quickstart on CUDA.
#   bench: the reference (shared/bench/bench_sdxl_peft.py, carried as .device/bench_sdxl_peft.py) and our
#          SdxlTrainBenchmark on the same configurations, in this one call.
# Needs .device/app (bench/make-device-app.sh) and .device/diffusers.txz or the slim .device/diffusers.tgz of
# bench/make-device-kit.sh (a diffusers source tree: src/diffusers).
set -uo pipefail
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."
J="java --enable-native-access=ALL-UNNAMED -Xss8m -cp $cp_"
what=${1:-all}
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
mkdir -p /tmp/dfs
if [ -f .device/diffusers.txz ]; then tar xJf .device/diffusers.txz -C /tmp/dfs; else tar xzf .device/diffusers.tgz -C /tmp/dfs; fi
if [ "$what" = check ] || [ "$what" = all ]; then
  echo "== doctor $(el)"; $J org.lorascripts.cli.Main doctor 2>&1 | tail -3
  echo "== sdxl parity on cuda $(el)"
  python3 tools/parity/sd_parity.py /tmp/dfs /tmp/sdpar --cp "$cp_" --device cuda --variants sdxl > "$out/sdxl-parity-full.txt" 2>&1
  echo "exit code $?" >> "$out/sdxl-parity-full.txt"
  grep -E '^(== |  |[a-z0-9]+: |exit code )' "$out/sdxl-parity-full.txt" | tee "$out/sdxl-parity.txt"
  echo "== full-size SDXL single file, random weights $(el)"
  mkdir -p /tmp/sdxl
  $J org.lorascripts.bench.SdxlRandomCheckpoint /tmp/sdxl/sdxl-random.safetensors /tmp/sdxl/data 8 2>&1 | tail -3
  $J org.lorascripts.cli.Main info /tmp/sdxl/sdxl-random.safetensors 2>&1 | head -20 | tee "$out/sdxl-random-info.txt"
  for te in ${TE_RUNS:-false true}; do
    echo "== ./lora train on it: fp16, checkpointing, 512, batch 2, train_text_encoder=$te $(el)"
    cat > /tmp/sdxl/train-$te.yaml <<YAML
base_model: /tmp/sdxl/sdxl-random.safetensors
train_data_dir: /tmp/sdxl/data
resolution: 512
batch_size: 2
mixed_precision: fp16
gradient_checkpointing: true
cache_latents: true
lora_rank: 16
lora_alpha: 8
train_text_encoder: $te
learning_rate: 1e-4
max_train_steps: 30
device: cuda
sample_prompts: [a red circle on a blue background]
sample_every_n_steps: 30
sample_steps: 10
sample_sampler: euler_a
output_dir: /tmp/sdxl/run-$te
output_name: sdxl-random-lora
YAML
    $J org.lorascripts.cli.Main train --config /tmp/sdxl/train-$te.yaml 2>&1 | grep -v WARNING | tail -12 | tee "$out/sdxl-train-te-$te.txt"
    python3 - /tmp/sdxl/run-$te/logs/metrics.jsonl <<'PY' | tee -a "$out/sdxl-train-te-$te.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def find(d, key):
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key: return v
            f = find(v, key)
            if f is not None: return f
    return None
mem = [m for m in (find(r, "perf/device_memory_gib") for r in rows) if m is not None]
print(json.dumps({"rows": len(rows), "peak_gib_per_logged_interval": [round(m, 2) for m in mem], "last": rows[-1] if rows else None}))
PY
    $J org.lorascripts.cli.Main info /tmp/sdxl/run-$te/sdxl-random-lora.safetensors 2>&1 | head -12 >> "$out/sdxl-train-te-$te.txt"
  done
  cp "$(ls /tmp/sdxl/run-true/samples/*.png 2>/dev/null | tail -1)" "$out/sdxl-random-sample.png" 2>/dev/null
  # the set-up alone (model, latent and text caching, freeing the encoders, the UNet, the LoRA): its allocator peak
  # (the first logged interval above peaked at 8.67 GiB on 2026-12-04, when the UNet loaded before the caching)
  [ -f /tmp/sdxl/train-false.yaml ] && echo "== set-up memory $(el)" && \
  $J org.lorascripts.bench.SdTaskMemory /tmp/sdxl/train-false.yaml 2>&1 | grep -v WARNING | head -3 | tee "$out/sdxl-setup-memory.txt"
  [ "${QUICKSTART:-1}" = 1 ] && echo "== SDXL quickstart on CUDA, fp16 $(el)" && \
  $J org.lorascripts.cli.Main train --config examples/quickstart-sdxl.yaml --set device=cuda --set mixed_precision=fp16 \
    --set output_dir=/tmp/q-sdxl 2>&1 | grep -v WARNING | tail -6 | tee "$out/quickstart-sdxl-cuda.txt"
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  echo "== ours: SdxlTrainBenchmark $(el)"
  # each configuration in a process of its own: in one process a configuration's leftovers counted in the next one's peak
  # 6 and 7: fp8_base (ours only), against the reference's fp16 checkpointed runs
  for i in 0 1 2 3 4 5 6 7; do $J org.lorascripts.bench.SdxlTrainBenchmark 10 3 $i 2>&1 | grep '^{' | tee -a "$out/sdxl-ours.jsonl"; done
  echo "== reference: diffusers + peft $(el)"
  timeout "${REF_TIMEOUT:-420}" python3 .device/bench_sdxl_peft.py /tmp/dfs/src 2>&1 | grep '^{' | tee "$out/sdxl-reference.jsonl"
fi
echo "== done $(el)"
