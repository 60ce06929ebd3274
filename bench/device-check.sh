#!/usr/bin/env bash
# GPU-machine correctness run (see README, "GPU checks"): doctor, the CUDA self-check, the test suite
# under libtorch 2.x + CUDA (minus the tests needing the ONNX Runtime or tokenizer jars, which are not
# carried), UNet/VAE (and SDXL text encoder) parity with diffusers/transformers and PEFT parity with peft/transformers.
# Usage: bash .device/on-device.sh bash bench/device-check.sh
set -uo pipefail
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."   # test-classes: the tools; . = the project root (demo-models/)
J="java --enable-native-access=ALL-UNNAMED"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
echo "== doctor $(el)"; $J -cp "$cp_" org.lorascripts.cli.Main doctor 2>&1 | tee "$out/doctor.txt"
echo "== cuda self-check $(el)"; $J -cp "$cp_" org.lorascripts.bench.CudaSelfCheck 2>&1 | tee "$out/cuda-selfcheck.txt"
echo "== tests on libtorch $(python3 -c 'import torch;print(torch.__version__)') $(el)"
$J -jar $app/junit-platform-console-standalone-1.14.1.jar execute --class-path "$cp_" --scan-class-path "$app/test-classes.jar" \
  --exclude-classname '.*(Label|Captions|Caption[A-Z]|Metadata|Wd14|Tokenizer|TextDataset|ChatTemplate|Packing|Quickstart|LlmLora|CliGenerate|CliMerge|Blip).*' \
  --details=summary --disable-banner 2>&1 | tail -40 | tee "$out/tests.txt"
echo "== sd parity (diffusers) $(el)"
mkdir -p /tmp/dfs && tar xzf .device/diffusers.tgz -C /tmp/dfs
# sd1, sd2, sdxl on the CPU, then sdxl (UNet with added conditions, both text encoders, a LoRA step) on CUDA; the full logs
# carry the dumper's own lines, the summaries one line per compared output
for run in "cpu sd1,sd2,sdxl" "cuda sdxl"; do
  set -- $run
  python3 tools/parity/sd_parity.py /tmp/dfs /tmp/sdpar-$1 --cp "$cp_" --device $1 --variants $2 > "$out/sd-parity-$1-full.txt" 2>&1
  echo "exit code $?" >> "$out/sd-parity-$1-full.txt"
  grep -E '^(== |  |[a-z0-9]+: SdParityDump failed|exit code )' "$out/sd-parity-$1-full.txt" | tee "$out/sd-parity-$1.txt"
done
echo "== peft parity $(el)"; python3 tools/parity/peft_parity.py "$cp_" /tmp/peftpar 2>&1 | tail -12 | tee "$out/peft-parity.txt"
echo "== done $(el)"
