#!/usr/bin/env bash
# GPU machine: the CUDA training-loop tests (after the prefetch hint), then bench/data-bench.sh through the kit.
# Usage: bash .device/on-device.sh bash bench/device-data.sh   (kit: WITH_TESTS=1 bench/make-device-app.sh)
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
K=".device/app/lora-scripts.jar:.device/app/lib/*:."
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
timeout 200 bash bench/device-kernels.sh tests org.lorascripts.tasks.sd.GraphedTrainingCudaTest org.lorascripts.train.TrainingLoopCudaTest 2>&1 | grep -E "✘|tests (successful|failed|aborted)|=>|torch" | head -20
echo "== data bench $(el)"
LORA="java --enable-native-access=ALL-UNNAMED -cp $K org.lorascripts.cli.Main" TOOLS_CP="$K:.device/app/test-classes.jar" \
  timeout $(( 570 - ($(date +%s) - t0) )) bash bench/data-bench.sh 2>&1 | tee "$out/data.jsonl" | cut -c1-250
nproc; nvidia-smi --query-gpu=name --format=csv,noheader
echo "== done $(el)"
