#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (Maven, g++, libtorch; see scripts/setup.sh), then runs every test.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
. ./scripts/setup.sh
LORA_SETUP_CALLER=./test.sh lora_setup build native
# -ntp: no download progress lines; MAVEN_OPTS (from lora_setup) keeps the JVM's warnings out.
mvn -B -ntp ${MVN_ARGS:-} test "$@"
