#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and `make run` need.
# Idempotent: installs only what is missing. Needs root (or sudo) the first time.
set -euo pipefail

# Every package a test needs is here: CMake stops, naming the package, when a
# tool is missing, and no test skips for want of one.
PKGS=(
  build-essential cmake pkg-config ninja-build git
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-system-arm device-tree-compiler cpio
  libprotobuf-c-dev protobuf-c-compiler
  libgrpc-dev libmbedtls-dev libfdt-dev libsqlite3-dev sqlite3
  libcriterion-dev libjansson-dev
  # hv-agent's Prometheus endpoint, and the Prometheus server and promtool
  # its tests scrape it with
  libmicrohttpd-dev prometheus
  # hv-agent's diagnostic archive (.tar.gz)
  libarchive-dev
  # the independent Python client: Debian's /usr/bin/python3 and its modules
  python3 python3-grpcio python3-protobuf protobuf-compiler
  # the fuzz targets (clang with libFuzzer and the sanitizer runtimes)
  clang libclang-rt-14-dev
  # lint: the copy-paste detector (jscpd, installed by npm into the build
  # tree by tests/lint/duplicates.sh) and the format check
  nodejs npm clang-format
  # `make run` and the tests that drive it: sessions, sockets, process tools
  tmux iproute2 procps util-linux coreutils
  # the profiler of bench/profile_agent.sh (docs/performance.md)
  linux-perf
  # the fleet link: the MQTT client library, the broker of `make run` and the
  # tests, and its command-line clients
  libmosquitto-dev mosquitto mosquitto-clients
  # update bundles downloaded over HTTPS by the fleet link (agent/fleet/fleet_fetch.c)
  libcurl4-openssl-dev
)

# The modules must import in Debian's interpreter, not in whichever python3
# comes first on PATH (the tests run /usr/bin/python3).
python_ok() { /usr/bin/python3 -c 'import grpc, google.protobuf, ssl' 2>/dev/null; }

missing=()
for p in "${PKGS[@]}"; do
  # a nodejs package that brings its own npm (not Debian's) conflicts with
  # Debian's npm package: a working npm is enough
  [ "$p" = npm ] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! python_ok; then
  echo "setup-deps: /usr/bin/python3 cannot import grpc and google.protobuf although" \
       "python3-grpcio and python3-protobuf are installed" >&2
  exit 1
fi
