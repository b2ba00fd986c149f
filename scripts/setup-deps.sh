#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and `make run` need.
# Idempotent: installs only what is missing. Needs root (or sudo) the first time.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config ninja-build
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-system-arm device-tree-compiler cpio
  libprotobuf-c-dev protobuf-c-compiler
  libgrpc-dev libmbedtls-dev libfdt-dev libsqlite3-dev sqlite3
  libcriterion-dev libjansson-dev
  python3 python3-grpcio python3-protobuf protobuf-compiler
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
