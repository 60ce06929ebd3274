#!/usr/bin/env bash
# Assembles .device/app for runs on the GPU machine (no Maven there): the jar, its runtime libraries
# (minus the ONNX Runtime jar, which only `./lora label` needs, and optionally the tokenizer jar), the
# compiled tests and the JUnit console launcher, so CUDA-only tests can run there.
# Usage: bench/make-device-app.sh [--with-tokenizers]   (after mvn package test-compile)
set -euo pipefail
cd "$(dirname "$0")/.."
app=.device/app
rm -rf "$app" && mkdir -p "$app/lib"
cp target/lora-scripts.jar "$app/"
for j in target/lib/*.jar; do
  case "$(basename "$j")" in
    onnxruntime-*) continue ;;
    tokenizers-*)
      [ "${1:-}" = "--with-tokenizers" ] || continue
      # only the linux-x86_64 native library travels (the jar holds four platforms' worth)
      t=$(mktemp -d); (cd "$t" && unzip -q "$OLDPWD/$j" && rm -rf native/lib/linux-aarch64 native/lib/win-* native/lib/osx-* \
        && zip -q -r "$OLDPWD/$app/lib/$(basename "$j")" .); rm -rf "$t"; continue ;;
  esac
  cp "$j" "$app/lib/"
done
cp -r target/test-classes "$app/test-classes"
rm -rf "$app/test-classes/fixtures"   # the CUDA tests need none, and they would not fit the carry limit
cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar "$app/"
du -sh .device
