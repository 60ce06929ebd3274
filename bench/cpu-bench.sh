#!/usr/bin/env bash
# CPU speed record: training steps per second of the two quickstarts on this machine's CPU, so that a
# CPU regression shows up next to the GPU figures. Run it on a quiet machine (nothing else compiling or
# training): the figure is wall-clock throughput.
# Usage: bash bench/cpu-bench.sh [SD_STEPS (default 60)] [TEXT_STEPS (default 200)]
# The text steps are short: 60 of them gave 3.8 to 6.0 steps/s in runs of one build on a 2-core VM, 200 of them mostly
# 5.8 to 6.2 (one run of six: 4.2). Compare builds by alternating them, more than once.
# Writes bench/results/cpu/DATE-HOST.jsonl: one object per quickstart with steps/s (median of the
# trainer's logged perf/steps_per_sec after the first logging interval), cores and the commit.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
steps=${1:-60}
text_steps=${2:-200}
out=bench/results/cpu; mkdir -p "$out"
file="$out/$(date -u +%F)-$(hostname -s).jsonl"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cores=$(nproc)

median_rate() {  # median of perf/steps_per_sec over logged rows, skipping the first (warm-up) row
  grep -o '"perf/steps_per_sec":[0-9.eE+-]*' "$1" | cut -d: -f2 | tail -n +2 | sort -g \
    | awk '{v[NR]=$1} END {if (NR == 0) {print "nan"} else if (NR % 2) {print v[(NR+1)/2]} else {print (v[NR/2]+v[NR/2+1])/2}}'
}

run() {  # NAME CONFIG STEPS [extra --set ...]
  local name=$1 cfg=$2 steps=$3; shift 3
  local dir="$work/$name"
  ./lora train --config "$cfg" --set max_train_steps="$steps" --set sample_every_n_steps=0 \
      --set output_dir="$dir" --set overwrite_output_dir=true --set log_interval=10 "$@" >"$work/$name.log" 2>&1 \
    || { echo "bench: $name failed, log follows" >&2; cat "$work/$name.log" >&2; exit 1; }
  local rate; rate=$(median_rate "$dir/logs/metrics.jsonl")
  local load; load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)   # other work on the machine skews the figure
  printf '{"config":"%s","unit":"steps/s","ours":%s,"steps":%d,"cores":%d,"load1_after":%s,"commit":"%s"}\n' \
      "$name" "$rate" "$steps" "$cores" "$load" "$commit" | tee -a "$file"
}

run quickstart-sd examples/quickstart.yaml "$steps"
run quickstart-text examples/quickstart-text.yaml "$text_steps" --set lr_warmup_steps=0
echo "bench: wrote $file"
