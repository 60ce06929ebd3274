#!/usr/bin/env bash
# Runs on the GPU machine (see README, "Benchmarks"): doctor, the CUDA self-check, the engine
# benchmark against PyTorch eager, and the safetensors/TensorBoard checks against the Python libraries.
# Usage: bash .device/on-device.sh bash bench/device-engine.sh [APP_DIR]   (APP_DIR holds the jar and lib/)
set -uo pipefail
app=${1:-.device/app}
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."   # test-classes: the tools; . = the project root (demo-models/)
J="java --enable-native-access=ALL-UNNAMED -cp $cp_"
t0=$(date +%s)
echo "== doctor"; $J org.lorascripts.cli.Main doctor 2>&1 | tee "$out/doctor.txt"
echo "== cuda self-check ($(( $(date +%s) - t0 ))s)"; $J org.lorascripts.bench.CudaSelfCheck 2>&1 | tee "$out/cuda-selfcheck.txt"
echo "== engine benchmark ($(( $(date +%s) - t0 ))s)"; $J org.lorascripts.bench.EngineBenchmark cuda:0 8192 bench/engine_reference.py 2>&1 | tee "$out/engine-bench.jsonl"
echo "== safetensors vs the Python library"; python3 tools/fixtures/make_safetensors_fixture.py --out /tmp/reference_torch.safetensors --compare src/test/resources/fixtures/reference.safetensors 2>&1 | tail -5 | tee "$out/safetensors-compare.txt"
echo "== tensorboard reader"; $J org.lorascripts.io.tensorboard.EventFileDemo /tmp/tb > /dev/null 2>&1 && python3 tools/check_tensorboard_events.py /tmp/tb /tmp/tb/expected.json 2>&1 | tail -3 | tee "$out/tensorboard-check.txt"
echo "== done in $(( $(date +%s) - t0 ))s"
