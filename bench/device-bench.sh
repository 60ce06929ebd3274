#!/usr/bin/env bash
# GPU-machine speed run: our SD1.5 UNet LoRA and Llama LoRA training steps next to the PyTorch
# references of shared/bench (diffusers+peft, transformers+peft) in the same call.
# Usage: bash .device/on-device.sh bash bench/device-bench.sh [sd|llm|all] [REFERENCE_DIR (copies of shared/bench scripts; default .device/reference)]
set -uo pipefail
what=${1:-all}; ref=${2:-.device/reference}
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes:."   # test-classes: the tools; . = the project root (demo-models/)
J="java --enable-native-access=ALL-UNNAMED -cp $cp_"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
if [ "$what" = sd ] || [ "$what" = all ]; then
  mkdir -p /tmp/dfs && tar xzf .device/diffusers.tgz -C /tmp/dfs
  echo "== sd: ours $(el)"; $J org.lorascripts.bench.SdTrainBenchmark 2>&1 | grep -v WARNING | tee "$out/sd-java.jsonl"
  echo "== sd: diffusers+peft $(el)"; python3 "$ref/bench_sd_peft.py" /tmp/dfs/src 2>&1 | grep '^{' | tee "$out/sd-torch.jsonl"
fi
if [ "$what" = llm ] || [ "$what" = all ]; then
  echo "== llm: ours $(el)"; $J org.lorascripts.bench.LlmTrainBenchmark 2>&1 | grep -v WARNING | tee "$out/llm-java.jsonl"
  echo "== llm: transformers+peft $(el)"; python3 "$ref/bench_llm_peft.py" 2>&1 | grep '^{' | tee "$out/llm-torch.jsonl"
fi
echo "== done $(el)"
