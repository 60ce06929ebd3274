#!/usr/bin/env bash
# GPU-machine end-to-end run: both quickstarts trained through the CLI on CUDA (fp16 image LoRA,
# bf16 text LoRA), the CUDA-only tests, then the training benchmarks next to the PyTorch references.
# Usage: [BENCH=0] bash .device/on-device.sh bash bench/device-final.sh   (BENCH=0: no benchmarks)
set -uo pipefail
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."   # test-classes: the tools; . = the project root (demo-models/)
J="java --enable-native-access=ALL-UNNAMED -Xss8m -cp $cp_"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
echo "== doctor $(el)"; $J org.lorascripts.cli.Main doctor 2>&1 | tail -4
echo "== image quickstart on CUDA, fp16 $(el)"
$J org.lorascripts.cli.Main train --config examples/quickstart.yaml --set device=cuda --set mixed_precision=fp16 \
  --set output_dir=/tmp/q-img 2>&1 | grep -v WARNING | tail -8 | tee "$out/quickstart-cuda.txt"
ls /tmp/q-img /tmp/q-img/samples 2>&1 | head -12 | tee -a "$out/quickstart-cuda.txt"
cp "$(ls /tmp/q-img/samples/*.png 2>/dev/null | tail -1)" "$out/sample-cuda.png" 2>/dev/null
echo "== text quickstart on CUDA, bf16 $(el)"
$J org.lorascripts.cli.Main train --config examples/quickstart-text.yaml --set device=cuda --set mixed_precision=bf16 \
  --set output_dir=/tmp/q-txt 2>&1 | grep -v WARNING | tail -6 | tee "$out/quickstart-text-cuda.txt"
echo "== CUDA tests $(el)"
java --enable-native-access=ALL-UNNAMED -Xss8m -jar $app/junit-platform-console-standalone-1.14.1.jar execute --class-path "$cp_" \
  --scan-class-path "$app/test-classes.jar" --include-classname '.*Cuda.*' --details=summary --disable-banner 2>&1 | tail -14 | tee "$out/cuda-tests.txt"
[ "${BENCH:-1}" = 1 ] || { echo "== done (no benchmarks: BENCH=0) $(el)"; exit 0; }
echo "== benchmarks $(el)"
bash bench/device-bench.sh all 2>&1 | grep '^{\|^==' | tee "$out/bench.txt"
echo "== done $(el)"
