#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (Maven, a C++ compiler, libtorch), then runs every test.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
. ./scripts/setup.sh
mvn -B ${MVN_ARGS:-} test "$@"
