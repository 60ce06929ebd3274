#!/usr/bin/env bash
# Assembles .device/app for runs on the GPU machine (no Maven there): the jar, its runtime libraries
# (minus the ONNX Runtime jar, which only `./lora label` needs, and optionally the tokenizer jar), the
# compiled tests and tools (src/tools/java) and, with WITH_TESTS=1, the JUnit console launcher, so
# CUDA-only tests can run there.
# Usage: [WITH_TESTS=1] bench/make-device-app.sh [--with-tokenizers]   (after mvn package test-compile; bench/make-device-kit.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
app=.device/app
rm -rf "$app" && mkdir -p "$app/lib"
cp target/lora-scripts.jar "$app/"
# the demo models travel once, as tracked files of the tree: put the project root on the class path
# ("$app/lora-scripts.jar:$app/lib/*:.") instead of carrying a second copy inside the jar
zip -q -d "$app/lora-scripts.jar" 'demo-models/*' >/dev/null
# only the jars the manifest names: target/lib keeps stale versions from earlier builds
for name in $(unzip -p target/lora-scripts.jar META-INF/MANIFEST.MF | tr -d '\r' | sed -n '/^Class-Path:/,/^[A-Z][A-Za-z-]*:/p' \
    | sed -e 's/^Class-Path: //' -e '/^[A-Z][A-Za-z-]*:/d' -e 's/^ //' | tr -d '\n'); do
  j=target/$name
  case "$(basename "$j")" in
    onnxruntime-*) continue ;;
    # the web GUI's server (./lora gui) does not run on the GPU machine
    javalin-*|jetty-*|jakarta.*|kotlin-stdlib-*|asm-*|annotations-13.*) continue ;;
    # Jinjava (a model's Jinja chat template) and what only it uses: text runs with --with-tokenizers only, as the
    # carry limit leaves no room for them on image runs and benchmarks (random token ids, no template)
    jinjava-*|guava-*|failureaccess-*|listenablefuture-*|jsr305-*|checker-qual-*|j2objc-*|javassist-*|re2j-*|commons-lang3-*|\
    commons-net-*|java-ipv6-*|annotations-3.*|jackson-datatype-jdk8-*|big-math-*|error_prone_annotations-*|immutables-*|\
    algebra-*|hubspot-style-*|immutable-collection-encodings-*|encode-*|derive4j-annotation-*|snakeyaml-2.*|jackson-dataformat-yaml-*)
      [ "${1:-}" = "--with-tokenizers" ] || continue ;;
    tokenizers-*)
      [ "${1:-}" = "--with-tokenizers" ] || continue
      # only the linux-x86_64 native library travels (the jar holds four platforms' worth)
      t=$(mktemp -d); (cd "$t" && unzip -q "$OLDPWD/$j" && rm -rf native/lib/linux-aarch64 native/lib/win-* native/lib/osx-* \
        && zip -q -r "$OLDPWD/$app/lib/$(basename "$j")" .); rm -rf "$t"; continue ;;
  esac
  cp "$j" "$app/lib/"
done
# the tools (src/tools/java: benchmarks, parity dumpers, pretrainers) compile with the tests: always carried, as
# test-classes.jar
if [ "${WITH_TESTS:-0}" = 1 ]; then
  cp -r target/test-classes "$app/test-classes"
  rm -rf "$app/test-classes/fixtures"   # neither tools nor CUDA tests need them, and they would not fit the carry limit
else
  # only the tools' classes (src/tools/java), not the tests and their resources: the carry limit is tight
  mkdir -p "$app/test-classes"
  (cd src/tools/java && find . -name '*.java' -printf '%h\n' | sort -u) | while read -r pkg; do
    mkdir -p "$app/test-classes/$pkg" && cp target/test-classes/"$pkg"/*.class "$app/test-classes/$pkg/"
  done
fi
# one compressed file instead of a few thousand small ones: the carry limit counts the disk blocks they take
(cd "$app/test-classes" && zip -q -r -9 ../test-classes.jar .) && rm -rf "$app/test-classes"
if [ "${WITH_TESTS:-0}" = 1 ]; then
  cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar "$app/"
fi
du -sh .device
