#!/usr/bin/env bash
# Decisions of scripts/setup.sh on simulated machines: stub apt-get, id, sudo, python3, mvn, g++ and
# fake JDK folders on a PATH that holds nothing else of the real machine's tools, so nothing is
# installed for real. Run by SetupScriptTest (mvn test) or directly: bash src/test/shell/setup-test.sh
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lora-setup-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

# The few real tools setup.sh uses, linked into a folder that becomes the whole PATH.
base="$work/base"
mkdir -p "$base"
for t in bash env readlink stat mktemp cat rm mkdir mv awk grep; do ln -s "$(command -v "$t")" "$base/$t"; done

# A fake JDK folder: a release file with the version and java (and javac) that answer like one.
fake_jdk() {  # dir version [nojavac]
  mkdir -p "$1/bin"
  printf 'IMPLEMENTOR="Test"\nJAVA_VERSION="%s"\n' "$2" >"$1/release"
  printf '#!/bin/sh\necho "java.specification.version = %s" >&2\n' "${2%%.*}" >"$1/bin/java"
  chmod +x "$1/bin/java"
  if [ "${3:-}" != nojavac ]; then cp "$1/bin/java" "$1/bin/javac"; fi
}
fake_jdk "$work/jdk/temurin-25" 25.0.1
fake_jdk "$work/jdk/openjdk-17" 17.0.15
fake_jdk "$work/jre/jre-25" 25.0.1 nojavac

# One simulated machine per scenario: a fresh stub folder and cache; the options say what it has.
#   root|user|sudo   who runs it (id -u; sudo -n works only with "sudo")
#   apt              apt-get exists (it records its calls; an install puts the package's command on PATH)
#   mvn gxx          Maven / g++ present
#   debtorch         Debian's libtorch files present
#   pytorch          python3 has torch with headers; python3 is always present, counting its runs
#   shim             a compiled native shim is in the cache
machine() {
  m="$work/m$((++n))"
  mkdir -p "$m/bin" "$m/cache" "$m/sys"
  local o
  for o in "$@"; do
    case $o in
      root) printf '#!/bin/sh\necho 0\n' >"$m/bin/id" ;;
      user) printf '#!/bin/sh\necho 1000\n' >"$m/bin/id" ;;
      sudo) printf '#!/bin/sh\necho 1000\n' >"$m/bin/id"
            printf '#!/bin/sh\n[ "$1" = -n ] && shift\n"$@"\n' >"$m/bin/sudo" ;;
      apt) cat >"$m/bin/apt-get" <<APT
#!/bin/sh
echo "\$*" >>"$m/apt.log"
if [ "\$1" = install ]; then
  for pkg; do :; done
  case \$pkg in
    maven) printf '#!/bin/sh\\n' >"$m/bin/mvn" ;;
    g++) printf '#!/bin/sh\\n' >"$m/bin/g++" ;;
  esac
fi
APT
        ;;
      mvn) printf '#!/bin/sh\n' >"$m/bin/mvn" ;;
      gxx) printf '#!/bin/sh\n' >"$m/bin/g++" ;;
      debtorch) mkdir -p "$m/sys/usr/lib/x86_64-linux-gnu" "$m/sys/usr/include/torch/csrc"
                : >"$m/sys/usr/lib/x86_64-linux-gnu/libtorch.so" ;;
      pytorch) mkdir -p "$m/site/torch/include/torch" "$m/site/torch/lib"; : >"$m/site/torch/lib/libtorch.so" ;;
      shim) mkdir -p "$m/cache/native/torch-1.13.0-cpu-0123"; : >"$m/cache/native/torch-1.13.0-cpu-0123/liblsshim.so" ;;
      *) echo "unknown machine option $o" >&2; exit 2 ;;
    esac
  done
  # python3 prints the torch folder only when the machine has it, like 'import torch' would.
  printf '#!/bin/sh\necho run >>"%s/python.log"\n[ -d "%s/site/torch" ] || exit 1\necho "%s/site/torch"\n' "$m" "$m" "$m" >"$m/bin/python3"
  chmod +x "$m/bin/"*
  : >"$m/apt.log"
}

# Runs lora_setup with the given arguments on the current machine; sets rc, err and out (what setup
# exports, one NAME=value a line).
setup() {
  local jdks=${JDKS-"$work/jdk/*"}
  rc=0
  out=$(env -i HOME="$m" PATH="$m/bin:$base" LORA_CACHE_DIR="$m/cache" _LORA_SYSTEM_ROOT="$m/sys" \
        _LORA_JDK_DIRS="$jdks" ${JAVA_HOME_SET:+JAVA_HOME="$JAVA_HOME_SET"} ${EXTRA_ENV:-} \
        bash -c 'set -euo pipefail; . "$1/scripts/setup.sh"; shift; lora_setup "$@"
                 echo "JAVA_HOME=$JAVA_HOME"; echo "LORA_JAVA=$LORA_JAVA"; echo "LORA_BUILD=$LORA_BUILD"; echo "MAVEN_OPTS=${MAVEN_OPTS:-}"' \
        _ "$repo" "$@" 2>"$m/err") || rc=$?
  err=$(cat "$m/err")
}

check() {  # description, then a command that must succeed
  local what=$1; shift
  if ! "$@"; then
    echo "FAIL [$scenario] $what"
    echo "  rc=$rc"; echo "  stderr: ${err//$'\n'/$'\n          '}"; echo "  apt-get: $(tr '\n' ';' <"$m/apt.log")"
    failures=$((failures + 1))
  fi
}
has() { case $1 in *"$2"*) return 0 ;; *) return 1 ;; esac; }
lacks() { ! has "$1" "$2"; }
line() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
lines() { [ "$(printf '%s' "$1" | grep -c '')" = "$2" ]; }
n=0

scenario="fresh Debian machine as root: installs Maven, g++ and libtorch-dev, one line each"
machine root apt
setup build native
check "exit 0" [ "$rc" = 0 ]
check "apt-get update first" has "$(head -1 "$m/apt.log")" "update"
check "installs maven" grep -q 'install -y -q maven$' "$m/apt.log"
check "installs g++" grep -q 'install -y -q g++$' "$m/apt.log"
check "installs libtorch-dev" grep -q 'install -y -q libtorch-dev$' "$m/apt.log"
check "three lines" lines "$err" 3
check "libtorch line" has "$err" "lora: installing libtorch-dev (CPU) with apt-get"
check "picks JDK 25" has "$out" "JAVA_HOME=$work/jdk/temurin-25"
check "java binary" has "$out" "LORA_JAVA=$work/jdk/temurin-25/bin/java"
check "quiet Maven on Java 25" has "$out" "MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow"

scenario="everything present: installs nothing, prints nothing"
machine root apt mvn gxx debtorch
setup build native
check "exit 0" [ "$rc" = 0 ]
check "no apt-get" [ ! -s "$m/apt.log" ]
check "silent" [ -z "$err" ]
check "Debian's libtorch found without asking python3" [ ! -e "$m/python.log" ]

scenario="python3's torch counts as a libtorch, and is asked once"
machine root apt mvn gxx pytorch
setup native
setup native
check "exit 0" [ "$rc" = 0 ]
check "no libtorch-dev" lacks "$(cat "$m/apt.log")" libtorch-dev
check "python3 ran once (cached)" [ "$(grep -c run "$m/python.log")" = 1 ]

scenario="LIBTORCH set (even wrongly) is the user's choice: Debian's is not installed over it"
machine root apt mvn gxx
EXTRA_ENV="LIBTORCH=/nonexistent" setup native
check "exit 0 (the CLI names LIBTORCH in its error)" [ "$rc" = 0 ]
check "no libtorch-dev" lacks "$(cat "$m/apt.log")" libtorch-dev

scenario="not root and no sudo: one line with the exact command, nothing installed"
machine user apt
setup build native
check "exit 2" [ "$rc" = 2 ]
check "one line" lines "$err" 1
check "the command" has "$err" "run 'sudo apt-get install -y maven g++ libtorch-dev', then ./lora again"
check "no apt-get" [ ! -s "$m/apt.log" ]

scenario="not root but password-less sudo: installs through sudo"
machine sudo apt mvn debtorch
setup native
check "exit 0" [ "$rc" = 0 ]
check "installs g++" grep -q 'install -y -q g++$' "$m/apt.log"

scenario="no apt-get: one line saying what is missing and how else to get libtorch"
machine root
setup native
check "exit 2" [ "$rc" = 2 ]
check "one line" lines "$err" 1
check "names it" has "$err" "missing g++, libtorch-dev and there is no apt-get here"
check "pip alternative" has "$err" "pip install torch"

scenario="no JDK 25: one line naming what was found and how to get one; nothing installed"
machine root apt
JDKS="$work/jdk/openjdk-17" setup build native
check "exit 2" [ "$rc" = 2 ]
check "one line" lines "$err" 1
check "names Java 17" has "$err" "found Java 17 in $work/jdk/openjdk-17"
check "Temurin" has "$err" "adoptium.net"
check "JAVA_HOME" has "$err" "set JAVA_HOME"
check "no apt-get" [ ! -s "$m/apt.log" ]

scenario="JAVA_HOME pointing at Java 17 is passed over for a JDK 25"
machine root apt mvn
JAVA_HOME_SET="$work/jdk/openjdk-17" setup build
check "exit 0" [ "$rc" = 0 ]
check "picks JDK 25" has "$out" "JAVA_HOME=$work/jdk/temurin-25"
check "silent" [ -z "$err" ]

scenario="a JRE 25 runs the jar but cannot build it"
machine root apt mvn
JDKS="$work/jre/jre-25" setup
check "runs: exit 0" [ "$rc" = 0 ]
JDKS="$work/jre/jre-25" setup build
check "build: exit 2" [ "$rc" = 2 ]
check "says why" has "$err" "without javac"

scenario="no build and no native: Maven, g++ and libtorch are not needed (./lora --help)"
machine user
setup
check "exit 0" [ "$rc" = 0 ]
check "silent" [ -z "$err" ]
check "Maven options untouched" line "$out" "MAVEN_OPTS="

scenario="stale jar, no Maven, cannot install: the existing jar runs, with one line"
machine user
setup rebuild
check "exit 0" [ "$rc" = 0 ]
check "no build" has "$out" "LORA_BUILD=0"
check "one line" lines "$err" 1

scenario="stale jar, no Maven, root: Maven is installed and the jar rebuilt"
machine root apt
setup rebuild
check "build" has "$out" "LORA_BUILD=1"
check "installs maven" grep -q 'install -y -q maven$' "$m/apt.log"

scenario="g++ missing but a shim is compiled already: not installed"
machine user mvn debtorch shim
setup native
check "exit 0" [ "$rc" = 0 ]

scenario="MAVEN_OPTS of the user are kept, the flag added once"
machine root mvn
EXTRA_ENV="MAVEN_OPTS=-Xmx1g" setup build
check "kept and added" has "$out" "MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow -Xmx1g"
EXTRA_ENV="MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow" setup build
check "not twice" line "$out" "MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow"

if [ "$failures" -gt 0 ]; then echo "$failures setup check(s) failed"; exit 1; fi
echo "setup checks passed ($n machines)"
