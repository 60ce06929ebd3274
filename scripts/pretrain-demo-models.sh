#!/usr/bin/env bash
# Regenerates the built-in demo models (builtin:tiny-sd, builtin:tiny-llama, builtin:tiny-sdxl) from
# scratch on a CUDA GPU: generated data, fixed seeds, the recorded settings. tiny-sd and tiny-llama run
# at once (they are small; neither fills the GPU); tiny-sdxl reuses tiny-sd's VAE, so it runs after
# tiny-sd (from the bundled tiny-sd unless SD is among MODELS). The result replaces demo-models/ after
# a look at the sample grids.
#
# Usage: scripts/pretrain-demo-models.sh OUT_DIR
#   JAVA_CP   the class path of the built application and its tools (default, after `mvn package test-compile`:
#             target/lora-scripts.jar:target/lib/*:target/test-classes)
#   SD_ARGS   extra arguments for the image model (default: none, the recorded settings)
#   LLM_ARGS  extra arguments for the text model (default: none, the recorded settings)
#   SDXL_ARGS extra arguments for the SDXL-layout image model (default: --budget 330, the recorded run)
#   MODELS    which to train (default: "sd llm sdxl")
# A quick CPU smoke run: SD_ARGS="--scale 0.005 --batch-scale 0.125" LLM_ARGS="--scale 0.02 --batch-scale 0.25" ...
set -euo pipefail
out=${1:?usage: scripts/pretrain-demo-models.sh OUT_DIR}
mkdir -p "$out"
cp_=${JAVA_CP:-target/lora-scripts.jar:target/lib/*:target/test-classes}
run() { java --enable-native-access=ALL-UNNAMED -Xss8m -cp "$cp_" org.lorascripts.demo.PretrainDemoModels "$@"; }
# the defaults of PretrainDemoModels are the recorded settings of the shipped models (demo-models/README.md)
sd_args=${SD_ARGS:-}
llm_args=${LLM_ARGS:-}
sdxl_args=${SDXL_ARGS:---budget 330}
models=" ${MODELS:-sd llm sdxl} "
status=0
sd=""; llm=""
case "$models" in *" sd "*) run sd --out "$out" $sd_args > "$out/tiny-sd.log" 2>&1 & sd=$! ;; esac
case "$models" in *" llm "*) run llm --out "$out" $llm_args > "$out/tiny-llama.log" 2>&1 & llm=$! ;; esac
[ -z "$sd" ] || wait "$sd" || status=$?
vae_from=""; [ -z "$sd" ] || vae_from="--vae-from $out/tiny-sd.safetensors"
case "$models" in *" sdxl "*) run sdxl --out "$out" $vae_from $sdxl_args > "$out/tiny-sdxl.log" 2>&1 || status=$? ;; esac
[ -z "$llm" ] || wait "$llm" || status=$?
tail -n 30 "$out"/tiny-*.log
exit $status
