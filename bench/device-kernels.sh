#!/usr/bin/env bash
# GPU-machine check of the run-time compiled kernels and the NCCL backend: doctor, then the CUDA-only tests named
# (default: the fused kernels, the 1-rank NCCL group and the graphed/fused training steps), then optionally the LLM
# speed run (bench/device-bench.sh llm) when the tests passed.
# Usage: CPLUS_INCLUDE_PATH=<gloo headers> bash .device/on-device.sh bash bench/device-kernels.sh [tests|bench|all] [TEST CLASSES...]
set -uo pipefail
what=${1:-all}; shift || true
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."
J="java --enable-native-access=ALL-UNNAMED"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
classes=("$@")
[ ${#classes[@]} -eq 0 ] && classes=(org.lorascripts.nn.FusedOpsCudaTest org.lorascripts.models.llm.LlamaFusedKernelsCudaTest
  org.lorascripts.dist.ProcessGroupNcclCudaTest org.lorascripts.tasks.sd.GraphedTrainingCudaTest org.lorascripts.tensor.CudaGraphTest
  org.lorascripts.train.optim.AdamWCudaTest)
echo "== doctor $(el)"; $J -cp "$cp_" org.lorascripts.cli.Main doctor 2>&1 | tee "$out/doctor.txt"
ok=0
if [ "$what" = tests ] || [ "$what" = all ]; then
  sel=(); for c in "${classes[@]}"; do sel+=(--select-class "$c"); done
  echo "== tests $(el)"
  $J -jar $app/junit-platform-console-standalone-1.14.1.jar execute --class-path "$cp_" "${sel[@]}" \
    --details=tree --disable-banner > "$out/tests-full.txt" 2>&1; ok=$?
  grep -vE '^\s*$' "$out/tests-full.txt" | grep -E '✘|✔|tests (successful|failed|aborted)|=>|Exception|expected' | head -80
fi
if [ "$what" = bench ] || { [ "$what" = all ] && [ $ok = 0 ]; }; then
  echo "== llm bench $(el)"; bash bench/device-bench.sh llm
fi
echo "== done $(el)"
