#!/usr/bin/env bash
# GPU-machine speed run: our SD1.5 UNet LoRA and Llama LoRA training steps next to the PyTorch
# references of shared/bench (diffusers+peft, transformers+peft) in the same call.
# Usage: bash .device/on-device.sh bash bench/device-bench.sh [sd|llm|qlora|curves|all] [REFERENCE_DIR (copies of shared/bench scripts; default .device/reference)]
# At the end, $OUT/results.jsonl pairs each of our configurations with the reference's of this call
# (org.lorascripts.bench.BenchCollect; commit it as bench/results/DATE-MACHINE.jsonl) and $OUT/table.md is its table.
# curves: fixed-seed loss curves of the 1B-shape Llama and the SD1.5 UNet, each trained the plain libtorch way, with
# our run-time kernels, as CUDA graphs and in float32 (org.lorascripts.bench.LossCurveCheck), then compared: each
# within the float32 curve's distance of the plain one, and of the newest committed bench/results/curves/*.jsonl.
# qlora: our NF4 base + LoRA (org.lorascripts.bench.LlmQloraBenchmark: the Llama-3-8B shape in NF4 and bf16, then the
# 70B shape's memory extrapolated from 2 and 4 layers) and its reference tools/bench_llm_qlora.py (transformers + peft +
# bitsandbytes; one "skipped" line when bitsandbytes is missing). QLORA_ARGS are passed to ours (e.g. "parts=8b steps=4").
# With PROFILE=1, each of our configurations is followed by a profiled pass (one more JSON line: GPU time per kind of
# kernel, kernel count, GPU busy share; org.lorascripts.bench.StepProfile) and the reference runs once more under
# torch.profiler (tools/profile_reference.py), summarised the same way into profile-*.jsonl.
set -uo pipefail
what=${1:-all}; ref=${2:-.device/reference}
app=.device/app
out=${OUT:-/tmp/out}; mkdir -p "$out"
cp_="$app/lora-scripts.jar:$app/lib/*:$app/test-classes.jar:."   # test-classes: the tools; . = the project root (demo-models/)
J="java --enable-native-access=ALL-UNNAMED -cp $cp_"
t0=$(date +%s); el() { echo "($(( $(date +%s) - t0 ))s)"; }
[ -n "${PROFILE:-}" ] && export LORA_BENCH_PROFILE=3
# profile_reference NAME STEPS SCRIPT ARGS...: the reference once more under torch.profiler, one summary line per configuration
profile_reference() {
  [ -n "${PROFILE:-}" ] || return 0
  local name=$1 steps=$2; shift 2
  echo "== $name: reference profile $(el)"
  rm -rf /tmp/prof && mkdir -p /tmp/prof
  python3 tools/profile_reference.py "$1" /tmp/prof/ref "${@:2}" 2>&1 | grep '^{' > /tmp/prof/results.jsonl
  local args=() i=0
  while [ -f "/tmp/prof/ref-$i.tsv" ]; do
    local label; label=$(sed -n "$((i + 1))p" /tmp/prof/results.jsonl | python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print(" ".join("%s=%s" % (k, d[k]) for k in ("model","quant","dtype","grad_ckpt","batch","targets") if k in d) or "config")')
    args+=("reference $label" "$steps" "/tmp/prof/ref-$i.tsv" 0); i=$((i + 1))
  done
  [ $i -gt 0 ] && $J org.lorascripts.bench.StepProfile "${args[@]}" 2>&1 | grep '^{' | tee "$out/profile-$name-reference.jsonl"
}
if [ "$what" = sd ] || [ "$what" = all ]; then
  mkdir -p /tmp/dfs && tar xzf .device/diffusers.tgz -C /tmp/dfs
  # each configuration in a process of its own: in one process a configuration's leftovers counted in the next one's peak
  echo "== sd: ours $(el)"; for i in 0 1 2 3 4; do $J org.lorascripts.bench.SdTrainBenchmark 20 5 $i 2>&1 | grep -v WARNING | tee -a "$out/sd-java.jsonl"; done
  echo "== sd: diffusers+peft $(el)"; python3 "$ref/bench_sd_peft.py" /tmp/dfs/src 2>&1 | grep '^{' | tee "$out/sd-torch.jsonl"
  profile_reference sd 20 "$ref/bench_sd_peft.py" /tmp/dfs/src
fi
if [ "$what" = llm ] || [ "$what" = all ]; then
  echo "== llm: ours $(el)"; $J org.lorascripts.bench.LlmTrainBenchmark 2>&1 | grep -v WARNING | tee "$out/llm-java.jsonl"
  echo "== llm: transformers+peft $(el)"; python3 "$ref/bench_llm_peft.py" 2>&1 | grep '^{' | tee "$out/llm-torch.jsonl"
  python3 tools/bench_llm_extra.py "$ref/bench_llm_peft.py" 2>&1 | grep '^{' | tee -a "$out/llm-torch.jsonl"
  profile_reference llm 8 "$ref/bench_llm_peft.py"
fi
if [ "$what" = qlora ] || [ "$what" = all ]; then
  # shellcheck disable=SC2086 # QLORA_ARGS is a list of key=value words
  echo "== qlora: ours $(el)"; $J org.lorascripts.bench.LlmQloraBenchmark ${QLORA_ARGS:-} 2>&1 | grep -v WARNING | tee "$out/qlora-java.jsonl"
  echo "== qlora: transformers+peft+bitsandbytes $(el)"; python3 tools/bench_llm_qlora.py 2>&1 | grep '^{' | tee "$out/qlora-torch.jsonl"
  profile_reference qlora 8 tools/bench_llm_qlora.py
fi
if [ "$what" = curves ] || [ "$what" = all ]; then
  echo "== curves $(el)"; : > "$out/curves.jsonl"
  for c in llama1b sd15; do $J org.lorascripts.bench.LossCurveCheck run curve=$c steps="${CURVE_STEPS:-30}" 2>&1 | grep -v WARNING | tee -a "$out/curves.jsonl"; done
  base=$(ls bench/results/curves/*.jsonl 2>/dev/null | grep -v -- '-check.jsonl$' | sort | tail -1)
  echo "== curves: check${base:+ against $base} $(el)"
  $J org.lorascripts.bench.LossCurveCheck compare "$out/curves.jsonl" ${base:+"$base"} | tee "$out/curves-check.jsonl"
fi
# the results file of this call: our configurations next to the reference's (org.lorascripts.bench.BenchCollect), and its table
if [ -f "$out/sd-java.jsonl" ] || [ -f "$out/llm-java.jsonl" ] || [ -f "$out/qlora-java.jsonl" ]; then
  echo "== results $(el)"; $J org.lorascripts.bench.BenchCollect "$out/results.jsonl" "$out" 2>&1 | grep -v WARNING | tee "$out/table.md"
fi
echo "== done $(el)"
