#!/usr/bin/env bash
# GPU-machine check of the network types and optimizers on CUDA through the CLI: the image quickstart
# (fp16) with LoRA, LoHa, LoKr, DoRA and AdamW8bit, the text quickstart (bf16) with DoRA and AdamW8bit,
# `./lora info` of what they wrote, and AdamW against AdamW8bit step time and state size.
# Usage: bash .device/on-device.sh bash bench/device-dialects.sh
#        (after bench/make-device-kit.sh, mvn package test-compile, bench/make-device-app.sh --with-tokenizers)
set -uo pipefail
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."
J="java --enable-native-access=ALL-UNNAMED -Xss8m -cp $cp_"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
last_loss() { grep -o '"train/loss":[0-9.eE+-]*' "$1/logs/metrics.jsonl" | tail -1 | cut -d: -f2; }
img() {  # NAME SETTINGS...
  local name=$1; shift
  local dir=/tmp/dia-$name
  echo "== image $name $(el)"
  $J org.lorascripts.cli.Main train --config examples/quickstart.yaml --set device=cuda --set mixed_precision=fp16 \
    --set sample_every_n_steps=0 --set output_dir="$dir" "$@" > "$dir.log" 2>&1
  echo "{\"run\":\"image-$name\",\"rc\":$?,\"last_logged_loss\":$(last_loss "$dir" || echo null),\"seconds\":\"$(el)\"}" | tee -a "$out/dialects.jsonl"
  grep -i "error\|exception" "$dir.log" | head -3
  $J org.lorascripts.cli.Main info "$dir/quickstart.safetensors" 2>&1 | grep -v WARNING | head -4 >> "$out/info.txt"
}
txt() {
  local name=$1; shift
  local dir=/tmp/dia-txt-$name
  echo "== text $name $(el)"
  $J org.lorascripts.cli.Main train --config examples/quickstart-text.yaml --set device=cuda --set mixed_precision=bf16 \
    --set sample_every_n_steps=0 --set output_dir="$dir" "$@" > "$dir.log" 2>&1
  echo "{\"run\":\"text-$name\",\"rc\":$?,\"last_logged_loss\":$(last_loss "$dir" || echo null),\"seconds\":\"$(el)\"}" | tee -a "$out/dialects.jsonl"
  grep -i "error\|exception" "$dir.log" | head -3
  tail -4 "$dir.log" >> "$out/text-tails.txt"
}
img lora
img loha --set network_type=loha
img lokr --set network_type=lokr
img dora --set use_dora=true
img adamw8bit --set optimizer=adamw8bit
txt lora
txt dora --set use_dora=true
txt adamw8bit --set optimizer=adamw8bit
echo "== optimizer step: AdamW vs AdamW8bit $(el)"
$J org.lorascripts.bench.OptimizerBenchmark cuda:0 64 1024 512 50 2>&1 | grep -v WARNING | tee "$out/optimizer.txt"
echo "== done $(el)"
