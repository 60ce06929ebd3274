# Setup shared by ./lora and ./test.sh (sourced by both, then `lora_setup` is called).
#
# Finds a JDK 25 or newer and installs with apt-get what a fresh Debian/Ubuntu machine lacks:
# Maven (to build the jar), g++ (to compile the native shim) and Debian's libtorch-dev (CPU) when no
# libtorch is found. It prints one line per install step on stderr and never asks questions. What it
# cannot fix (not root, no apt-get, no JDK 25) ends in one line naming what is missing and the command
# that fixes it, and exit status 2.
#
# When everything is present it only tests files and reads one cached probe, so ./lora starts as fast
# as without it: the Java version comes from the JDK's `release` file (no JVM start), and python3's
# torch (importing it takes seconds) is asked once per python3 binary.
#
#   lora_setup [build|rebuild] [native]
#     build    the jar must be built: Maven and a JDK with javac are needed
#     rebuild  sources changed since the jar was built: like build, but when Maven cannot be
#              installed the existing jar is used (with one line saying so)
#     native   libtorch and a C++ compiler are needed (training, sampling, the tests)
#   Sets LORA_JAVA (the java binary) and LORA_BUILD (1: run Maven); exports JAVA_HOME (the JDK found)
#   and MAVEN_OPTS (with what keeps Maven quiet on this JDK). LORA_SETUP_CALLER names the command to
#   run again in messages (default ./lora).
#
# Test hooks (src/test/shell/setup-test.sh): _LORA_JDK_DIRS replaces the JDK folders searched after
# $JAVA_HOME, _LORA_SYSTEM_ROOT prefixes the paths of Debian's libtorch.

LORA_MIN_JAVA=25
_lora_sudo=""

_lora_say() { printf 'lora: %s\n' "$*" >&2; }
_lora_die() { printf 'lora: %s\n' "$*" >&2; exit 2; }

# Where ./lora caches compiled and probed things; the same rule as the Java side (ffi.NativeCache).
_lora_cache_dir() {
  if [ -n "${LORA_CACHE_DIR:-}" ]; then printf '%s\n' "$LORA_CACHE_DIR"
  elif [ -n "${XDG_CACHE_HOME:-}" ]; then printf '%s\n' "$XDG_CACHE_HOME/lora-scripts"
  else printf '%s\n' "$HOME/.cache/lora-scripts"
  fi
}

# Sets _lora_major to the Java feature version of a JDK/JRE folder (0 if unknown). The release file
# answers without starting a JVM; a folder without one is asked the slow way.
_lora_java_major() {
  local home=$1 line v=''
  if [ -r "$home/release" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in JAVA_VERSION=*) v=${line#JAVA_VERSION=}; v=${v//\"/}; break ;; esac
    done <"$home/release"
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}') || v=''
  fi
  v=${v#1.}          # 1.8.0_392 -> 8.0_392
  v=${v%%[!0-9]*}    # 25.0.1 -> 25, 26-ea -> 26
  _lora_major=${v:-0}
}

# Sets LORA_JAVA_HOME and LORA_JAVA_MAJOR to the first JDK of at least LORA_MIN_JAVA: $JAVA_HOME, then
# the usual JDK folders, then the java on PATH. $1 = 1 when javac is needed too (for Maven).
# On failure _lora_java_seen lists what was found instead, for the error line.
_lora_find_java() {
  local need_javac=$1 home seen=' ' on_path
  _lora_java_seen=''
  # shellcheck disable=SC2086  # the folder list is a list of globs
  for home in ${JAVA_HOME:+"$JAVA_HOME"} ${_LORA_JDK_DIRS:-/usr/lib/jvm/* /opt/java/* /usr/local/java/*} ''; do
    if [ -z "$home" ]; then  # last: the java on PATH (resolving its links costs a process, so only now)
      on_path=$(command -v java 2>/dev/null) || break
      home=$(readlink -f "$on_path") && home=${home%/bin/java}
    fi
    case $seen in *" $home "*) continue ;; esac
    seen="$seen$home "
    [ -x "$home/bin/java" ] || continue
    _lora_java_major "$home"
    if [ "$_lora_major" -lt "$LORA_MIN_JAVA" ]; then
      _lora_java_seen="$_lora_java_seen, Java $_lora_major in $home"
    elif [ "$need_javac" = 1 ] && [ ! -x "$home/bin/javac" ]; then
      _lora_java_seen="$_lora_java_seen, Java $_lora_major without javac (a JRE) in $home"
    else
      LORA_JAVA_HOME=$home
      LORA_JAVA_MAJOR=$_lora_major
      return 0
    fi
  done
  _lora_java_seen=${_lora_java_seen#, }
  return 1
}

# Whether python3's torch package carries headers and libtorch.so (what ffi.LibTorchLocator accepts).
# The answer is cached per python3 binary (path and modification time), as the Java side does.
_lora_python_torch() {
  local py key cache line1='' dir=''
  py=$(command -v python3 2>/dev/null) || return 1
  key="$py|$(stat -L -c %Y "$py" 2>/dev/null || echo '?')"
  cache="$(_lora_cache_dir)/setup-python-torch.txt"
  if ! { [ -r "$cache" ] && { IFS= read -r line1 && IFS= read -r dir; } <"$cache" && [ "$line1" = "$key" ]; }; then
    dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) || dir=''
    # A cache is an optimisation: an unwritable cache folder only means probing again next time.
    { mkdir -p "${cache%/*}" && printf '%s\n%s\n' "$key" "$dir" >"$cache.$$" && mv -f "$cache.$$" "$cache"; } 2>/dev/null || true
  fi
  [ -n "$dir" ] && [ -d "$dir/include/torch" ] && [ -e "$dir/lib/libtorch.so" ]
}

# Whether some libtorch will be found. The Java side's order is $LIBTORCH, python3's torch, Debian's;
# here only "is there one" matters (to decide on installing Debian's), so the cheap file test of
# Debian's comes first. A set LIBTORCH counts as found: it is the user's choice, never replaced by
# Debian's, and the Java side names it in the error when it is not a libtorch.
_lora_have_libtorch() {
  local sys=${_LORA_SYSTEM_ROOT:-}
  [ -n "${LIBTORCH:-}" ] && return 0
  [ -e "$sys/usr/lib/x86_64-linux-gnu/libtorch.so" ] && [ -d "$sys/usr/include/torch/csrc" ] && return 0
  _lora_python_torch
}

# Whether a native shim was compiled already (then a missing compiler only matters for a new libtorch).
_lora_shim_built() {
  local f
  for f in "$(_lora_cache_dir)"/native/*/liblsshim.so; do [ -e "$f" ] && return 0; done
  return 1
}

# Whether packages can be installed here without asking: apt-get, and root or password-less sudo.
_lora_can_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] && { _lora_sudo=''; return 0; }
  command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && { _lora_sudo='sudo -n'; return 0; }
  return 1
}

# Installs Debian packages, given as "package:why" words, one line per package; or ends with one line
# saying how to install them when it cannot.
_lora_apt_install() {
  local caller=${LORA_SETUP_CALLER:-./lora} names='' others='' log p name
  for p in "$@"; do names="$names ${p%%:*}"; done
  names=${names# }
  if ! _lora_can_install; then
    if ! command -v apt-get >/dev/null 2>&1; then
      case " $names " in *" libtorch-dev "*) others=" (for libtorch: 'pip install torch', or set LIBTORCH to an unpacked libtorch from pytorch.org)" ;; esac
      _lora_die "missing ${names// /, } and there is no apt-get here: install them with the system's package manager$others, then run $caller again"
    fi
    _lora_die "missing ${names// /, } and installing needs root: run 'sudo apt-get install -y $names', then $caller again"
  fi
  log=$(mktemp "${TMPDIR:-/tmp}/lora-apt.XXXXXX")
  # A fresh machine may have no package lists yet; if the update fails, the install still says why.
  $_lora_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 || true
  for p in "$@"; do
    name=${p%%:*}
    _lora_say "installing $name$([ "$name" = libtorch-dev ] && echo ' (CPU)') with apt-get (${p#*:}) ..."
    if ! $_lora_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$name" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      _lora_die "'apt-get install -y $name' failed (its output is above); fix that, then run $caller again"
    fi
  done
  rm -f "$log"
  hash -r  # forget where mvn/g++ were not found
}

# Adds to MAVEN_OPTS what keeps this JDK quiet under Maven: from Java 24 on, Maven's bundled guava
# calls sun.misc.Unsafe and every build starts with four WARNING lines. The flag exists from Java 23
# on and older JVMs refuse to start with it, so it is only added for the JDK that runs Maven here
# (JAVA_HOME, set by lora_setup), never through .mvn/jvm.config, which every JVM would read.
_lora_maven_opts() {
  case " ${MAVEN_OPTS:-} " in *sun-misc-unsafe-memory-access*) return 0 ;; esac
  if [ "$LORA_JAVA_MAJOR" -ge 23 ]; then
    MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow${MAVEN_OPTS:+ $MAVEN_OPTS}"
    export MAVEN_OPTS
  fi
}

lora_setup() {
  local want_build='' want_native=0 arg caller=${LORA_SETUP_CALLER:-./lora} need_javac=0 missing=()
  for arg in "$@"; do
    case $arg in
      build|rebuild) want_build=$arg ;;
      native) want_native=1 ;;
      *) _lora_die "lora_setup: unknown argument '$arg'" ;;
    esac
  done
  LORA_BUILD=0
  [ -n "$want_build" ] && LORA_BUILD=1
  # A stale jar still runs: without Maven and without a way to install it, use it rather than stop.
  if [ "$want_build" = rebuild ] && ! command -v mvn >/dev/null 2>&1 && ! _lora_can_install; then
    _lora_say "sources changed since target/lora-scripts.jar was built, but Maven is missing: running the existing jar ('sudo apt-get install maven' to rebuild)"
    LORA_BUILD=0
  fi

  # Java first: nothing is installed when the one thing apt cannot provide (on Debian 12) is missing.
  [ "$LORA_BUILD" = 1 ] && need_javac=1
  if ! _lora_find_java "$need_javac"; then
    _lora_die "Java $LORA_MIN_JAVA or newer is needed$([ "$need_javac" = 1 ] && echo ' (a JDK, to build)'), found ${_lora_java_seen:-none}: install a JDK $LORA_MIN_JAVA, e.g. Temurin (https://adoptium.net/installation/linux/: add Adoptium's apt repository, then apt-get install temurin-25-jdk), and set JAVA_HOME to it unless it is under /usr/lib/jvm; then run $caller again"
  fi
  export JAVA_HOME=$LORA_JAVA_HOME
  LORA_JAVA=$LORA_JAVA_HOME/bin/java

  if [ "$LORA_BUILD" = 1 ] && ! command -v mvn >/dev/null 2>&1; then
    missing+=("maven:builds target/lora-scripts.jar")
  fi
  if [ "$want_native" = 1 ]; then
    if [ -z "${CXX:-}" ] && ! command -v g++ >/dev/null 2>&1 && ! _lora_shim_built; then
      missing+=("g++:compiles the native shim")
    fi
    if ! _lora_have_libtorch; then
      missing+=("libtorch-dev:no libtorch found: LIBTORCH is unset, python3 has no torch")
    fi
  fi
  # ${missing[@]+...}: an empty array counts as unbound under set -u in bash before 4.4
  if [ ${#missing[@]} -gt 0 ]; then _lora_apt_install ${missing[@]+"${missing[@]}"}; fi
  if [ "$LORA_BUILD" = 1 ]; then _lora_maven_opts; fi
  return 0
}
