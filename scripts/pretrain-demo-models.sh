#!/usr/bin/env bash
# Regenerates the built-in demo models (builtin:tiny-sd, builtin:tiny-llama) from scratch on a CUDA
# GPU: generated data, fixed seeds, the recorded step counts. Both pretrainers run at once (they are
# small; neither fills the GPU). The result replaces demo-models/ after a look at the sample grid.
#
# Usage: scripts/pretrain-demo-models.sh OUT_DIR
#   JAVA_CP   the class path of the built application and its tools (default, after `mvn package test-compile`:
#             target/lora-scripts.jar:target/lib/*:target/test-classes)
#   SD_ARGS   extra arguments for the image model (default: none, the recorded settings)
#   LLM_ARGS  extra arguments for the text model (default: none, the recorded settings)
# A quick CPU smoke run: SD_ARGS="--scale 0.005 --batch-scale 0.125" LLM_ARGS="--scale 0.02 --batch-scale 0.25" ...
set -euo pipefail
out=${1:?usage: scripts/pretrain-demo-models.sh OUT_DIR}
mkdir -p "$out"
cp_=${JAVA_CP:-target/lora-scripts.jar:target/lib/*:target/test-classes}
run() { java --enable-native-access=ALL-UNNAMED -Xss8m -cp "$cp_" org.lorascripts.demo.PretrainDemoModels "$@"; }
# the defaults of PretrainDemoModels are the recorded settings of the shipped models (demo-models/README.md)
sd_args=${SD_ARGS:-}
llm_args=${LLM_ARGS:-}
run sd --out "$out" $sd_args > "$out/tiny-sd.log" 2>&1 &
sd=$!
run llm --out "$out" $llm_args > "$out/tiny-llama.log" 2>&1 &
llm=$!
status=0
wait $sd || status=$?
wait $llm || status=$?
tail -n 30 "$out/tiny-sd.log" "$out/tiny-llama.log"
exit $status
