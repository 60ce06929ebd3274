#!/usr/bin/env bash
# Image pipeline timing: builtin:tiny-sd trained from a folder of camera-sized JPEGs (org.lorascripts.bench.PhotoFolder),
# so that decoding and resizing, not the model, set the pace. Two runs per setting: latent caching (the default: every
# image read once before training) and cache_latents: false with flip_aug (every step reads its images), each with the
# prefetch on and with LORA_PREFETCH=0, alternated twice. Prints one JSON line per run: wall seconds of the command,
# steps/s (median of the logged rate) and the settings.
# Usage: bash bench/data-bench.sh [COUNT (24)] [WIDTH (3000)] [HEIGHT (2000)] [STEPS (30)]   (after mvn package test-compile)
# Elsewhere (the GPU machine's kit): LORA="java ... org.lorascripts.cli.Main" TOOLS_CP="<class path with the tools>" bash ...
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
n=${1:-24} w=${2:-3000} h=${3:-2000} steps=${4:-30}
LORA=${LORA:-./lora}
TOOLS_CP=${TOOLS_CP:-target/classes:target/test-classes:target/lib/*}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
java -cp "$TOOLS_CP" org.lorascripts.bench.PhotoFolder "$work/photos" "$n" "$w" "$h" >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
median_rate() {
  grep -o '"perf/steps_per_sec":[0-9.eE+-]*' "$1" | cut -d: -f2 | tail -n +2 | sort -g \
    | awk '{v[NR]=$1} END {if (NR == 0) {print "null"} else {print v[int((NR+1)/2)]}}'
}
for rep in 1 2; do
  for prefetch in 1 0; do
    for mode in cached uncached; do
      extra=(); [ "$mode" = uncached ] && extra=(--set cache_latents=false --set flip_aug=true)
      out="$work/run-$mode-$prefetch"
      t0=$(date +%s.%N)
      LORA_PREFETCH=$prefetch $LORA train --config examples/quickstart.yaml --set train_data_dir="$work/photos" \
        --set resolution=64 --set max_train_steps="$steps" --set sample_every_n_steps=0 --set sample_prompts='[]' \
        --set output_dir="$out" --set overwrite_output_dir=true --set log_interval=5 "${extra[@]}" > "$work/log" 2>&1 \
        || { cat "$work/log" >&2; exit 1; }
      t1=$(date +%s.%N)
      printf '{"mode":"%s","prefetch":%s,"photos":%d,"size":"%dx%d","steps":%d,"wall_s":%.2f,"steps_per_s":%s,"cores":%d,"commit":"%s"}\n' \
        "$mode" "$([ $prefetch = 1 ] && echo true || echo false)" "$n" "$w" "$h" "$steps" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
        "$(median_rate "$out/logs/metrics.jsonl")" "$(nproc)" "$commit"
    done
  done
done
