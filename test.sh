#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (Maven, g++, libtorch; see scripts/setup.sh), then runs every test.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
. ./scripts/setup.sh
LORA_SETUP_CALLER=./test.sh lora_setup build native
# The web app's browser tests (GuiBrowserTest) drive Debian's chromium through chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if _lora_can_install; then
    LORA_SETUP_CALLER=./test.sh _lora_apt_install "chromium:browser tests of ./lora gui" "chromium-driver:browser tests of ./lora gui"
  else
    echo "test.sh: chromium and chromium-driver are missing and cannot be installed here (needs root and apt-get): the browser tests will be skipped" >&2
  fi
fi
# Distributed training (./lora train --nproc; the dist tests) compiles the shim's c10d part against gloo's
# headers, which libtorch does not ship: Debian's libgloo-dev has them.
if [ ! -e /usr/include/gloo/algorithm.h ] && [ ! -e /usr/local/include/gloo/algorithm.h ]; then
  if _lora_can_install; then
    LORA_SETUP_CALLER=./test.sh _lora_apt_install "libgloo-dev:distributed training tests (c10d with gloo)"
  else
    echo "test.sh: gloo's headers (libgloo-dev) are missing and cannot be installed here: the distributed training tests will be skipped" >&2
  fi
fi
# -ntp: no download progress lines; MAVEN_OPTS (from lora_setup) keeps the JVM's warnings out.
mvn -B -ntp ${MVN_ARGS:-} test "$@"
