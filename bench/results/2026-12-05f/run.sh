#!/usr/bin/env bash
# one device call: the CUDA-graph capture memory test and the graphed LLM training test, then the A/B of the
# rebuild recipes on SD1.5 bs 4 fp16 (eager and graphed peaks)
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
J="java --enable-native-access=ALL-UNNAMED -cp .device/app/lora-scripts.jar:.device/app/lib/*:.device/app/test-classes.jar:."
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
timeout 240 bash bench/device-kernels.sh tests org.lorascripts.tensor.CudaGraphTest org.lorascripts.tasks.llm.LlmGraphedTrainingCudaTest 2>&1 | grep -E "✘|✔|tests (successful|failed|aborted)|=>|torch|captures" | head -30
grep -h "captures:" "$out/tests-full.txt"
echo "== sd A/B $(el)"
for i in 0; do
  LORA_REBUILD=0 timeout 120 $J org.lorascripts.bench.SdTrainBenchmark 20 5 $i 2>&1 | grep -v WARNING | sed 's/^{/{"rebuild": false, /' | tee -a "$out/sd-java-ab.jsonl" | cut -c1-300
  timeout 120 $J org.lorascripts.bench.SdTrainBenchmark 20 5 $i 2>&1 | grep -v WARNING | sed 's/^{/{"rebuild": true, /' | tee -a "$out/sd-java-ab.jsonl" | cut -c1-300
done
echo "== done $(el)"
