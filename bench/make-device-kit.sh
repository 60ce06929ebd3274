#!/usr/bin/env bash
# Prepares .device/ for runs on the GPU machine (PyTorch with CUDA there, no JDK, a 64 MiB carry limit
# for the working tree plus what is carried): an xz-compressed jlinked Java runtime (about 21 MiB; the
# zip-compressed jlink image in a .tgz is about 39 MiB, which no longer fits beside the tracked
# demo models) and an on-device launcher that unpacks it, points LIBTORCH at the machine's PyTorch
# and runs the given command; with DIFFUSERS_GIT, the diffusers source the SD references need. Then
# bench/make-device-app.sh adds the application.
# Usage, from the project root:  bench/make-device-kit.sh     then carry .device and run
#   bash .device/on-device.sh <command...>
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.device
mkdir -p "$dir"
grep -qx "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >> .git/info/exclude
jdk=""
for j in /usr/lib/jvm/*; do
  [ -x "$j/bin/jlink" ] && [ -f "$j/release" ] || continue
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$j/release")
  [ "${v:-0}" -ge 25 ] 2>/dev/null && jdk=$j
done
[ -n "$jdk" ] || { echo "make-device-kit: no JDK 25 with jlink under /usr/lib/jvm" >&2; exit 1; }
if [ ! -s "$dir/jre.txz" ] || [ "${REBUILD_JRE:-0}" = 1 ]; then
  rm -rf "$dir/jre" "$dir/jre.txz" "$dir/jre.tgz"
  # no --compress: xz over the plain image is far smaller than xz over zip-compressed modules
  "$jdk/bin/jlink" --add-modules java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.unsupported,jdk.zipfs,jdk.crypto.ec \
    --strip-debug --no-header-files --no-man-pages --output "$dir/jre"
  tar cJf "$dir/jre.txz" -C "$dir" jre && rm -rf "$dir/jre"
fi
# The diffusers source the SD references import (bench_sd_peft.py, the parity dumps): from a local git clone of
# diffusers named by DIFFUSERS_GIT (a .git directory or a bare repository). Its pipelines are left out: the
# references import only the models, and without them the archive is ~1.5 MiB instead of ~4.7 MiB of the carry.
if [ -n "${DIFFUSERS_GIT:-}" ]; then
  git --git-dir="$DIFFUSERS_GIT" archive HEAD src/diffusers \
    | tar --delete --wildcards 'src/diffusers/pipelines/*' 'src/diffusers/modular_pipelines/*' \
    | gzip -9 > "$dir/diffusers.tgz"
fi
cat > "$dir/on-device.sh" <<'SH'
#!/usr/bin/env bash
# Runs on the GPU machine: unpacks the carried Java runtime, points at the machine's PyTorch, runs the command.
set -euo pipefail
kit=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /tmp/jre/bin/java ]; then tar xJf "$kit/jre.txz" -C /tmp; fi
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
TORCH_DIR=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
export TORCH_DIR LIBTORCH=$TORCH_DIR
export LD_LIBRARY_PATH=$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "on-device: java $(java -version 2>&1 | head -1 | cut -d'"' -f2), torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)'), $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
exec "$@"
SH
echo "make-device-kit: $dir/jre.txz ($(du -h "$dir/jre.txz" | cut -f1)) and $dir/on-device.sh"
