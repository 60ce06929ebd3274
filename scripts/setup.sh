# Sourced by test.sh and .ci/run: makes sure Java >= 22, Maven, g++ and a libtorch are present.
# On a fresh Debian machine it installs Maven, g++ and Debian's libtorch-dev (CPU) with apt (needs root).
need_apt=()
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
have_torch=0
if [ -n "${LIBTORCH:-}" ] && [ -d "$LIBTORCH/include" ]; then have_torch=1
elif python3 -c 'import torch' >/dev/null 2>&1; then have_torch=1
elif [ -f /usr/include/torch/script.h ] || [ -d /usr/include/torch/csrc ]; then have_torch=1
fi
[ "$have_torch" = 1 ] || need_apt+=(libtorch-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}; run as root or: sudo apt-get install ${need_apt[*]}" >&2
    exit 2
  fi
fi
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
  for j in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*; do
    if [ -x "$j/bin/javac" ] && "$j/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then export JAVA_HOME=$j; break; fi
  done
fi
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
  echo "setup: no JDK 22+ found under /usr/lib/jvm; install JDK 25 (Temurin) and set JAVA_HOME" >&2
  exit 2
fi
export PATH="$JAVA_HOME/bin:$PATH"
