#!/usr/bin/env bash
# Data-parallel scaling on the GPU machine's GPUs: org.lorascripts.bench.DdpLlmBenchmark on 1 process, then on N (one
# per GPU, torchrun's variables), NCCL, the Llama LoRA step of LlmTrainBenchmark. Prints rank 0's JSON line per world size.
# Usage: CPLUS_INCLUDE_PATH=<gloo headers> bash .device/on-device.sh bash bench/device-ddp.sh [N (default: all GPUs)] [model] [ckpt]
set -uo pipefail
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
J="java --enable-native-access=ALL-UNNAMED -cp $app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."
n=${1:-$(nvidia-smi -L | wc -l)}; model=${2:-llama3-8b}; ckpt=${3:-false}
$J org.lorascripts.cli.Main doctor 2>&1 | grep -E "gpu|distributed|fused"   # builds the shim once, before the ranks start
for w in 1 "$n"; do
  for r in $(seq 0 $((w - 1))); do
    WORLD_SIZE=$w RANK=$r LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$((29600 + w)) \
      $J org.lorascripts.bench.DdpLlmBenchmark 8 3 "$model" "$ckpt" > "/tmp/ddp-$w-$r.txt" 2>&1 &
  done
  wait
  grep -h '^{' /tmp/ddp-$w-0.txt | tee -a "$out/ddp.jsonl"
  grep -hE 'error|Exception' /tmp/ddp-$w-*.txt | head -5
done
