#!/usr/bin/env bash
# bench/run.sh - `make bench`: hv-agent's RPC path measured against libvirtd on
# this machine, in one run, and printed as a table (also written to
# BUILD/bench-results.md; docs/performance.md explains the method).
#
#   bash bench/run.sh            (environment: BENCH_SECS=3 BENCH_RUNS=3
#                                 BENCH_CMD_RUNS=21 BENCH_CLIENTS="1 8 64" JOBS=2,
#                                 BENCH_PKI=DIR to use a PKI made earlier)
#
# What it does:
#  1. builds a non-sanitized release tree in build-bench/ (figures from an
#     ASan build would measure the sanitizer);
#  2. installs Debian's libvirt-daemon, libvirt-clients and libvirt-dev when
#     missing (only the benchmark needs them, so they are not in setup-deps.sh);
#  3. boots hv-core under QEMU and starts hv-agent on a unix socket and, when a
#     development PKI can be made, mutual-TLS TCP on a free loopback port;
#  4. starts libvirtd by hand with its built-in test driver on a private unix
#     socket (private config, empty driver directory: nothing system-wide);
#  5. for 1, 8 and 64 concurrent clients, BENCH_RUNS rounds that interleave
#     hv-agent and libvirtd so both see the same machine load: GetVm by name
#     (hv-rpc-bench) with the local frame protocol and with gRPC on the unix
#     socket and with gRPC over mutual TLS, against lookup-by-name + get-info
#     (hv-virt-bench, what `virsh dominfo` asks), plus libvirt's get-info alone
#     (one RPC);
#  6. times whole `hvctl dominfo` (its default: frames on a unix socket, and
#     with --grpc) and `virsh dominfo` invocations;
#  7. reads both daemons' peak RSS (VmHWM) and prints medians and ratios;
#     every figure also goes to BUILD/bench-results.json with its unit and its
#     libvirtd/virsh counterpart, which bench/compare.py compares between runs.
# Nothing here asserts a timing: the script fails only when something does
# not work. Everything it starts is stopped on every exit path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD="$root/build-bench"
JOBS=${JOBS:-2}
BENCH_SECS=${BENCH_SECS:-3}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CMD_RUNS=${BENCH_CMD_RUNS:-21}
BENCH_CLIENTS=${BENCH_CLIENTS:-"1 8 64"}
VM=rtos-demo        # the demo VM of scripts/hv-qemu.sh's default boot configuration (hv-core/guests/vms)
VIRT_DOMAIN=test    # the libvirt test driver's built-in running domain
LIBVIRT_PKGS=(libvirt-daemon libvirt-clients libvirt-dev)

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

tmp="" agent_pid="" libvirtd_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  if [ -n "$libvirtd_pid" ] && kill -0 "$libvirtd_pid" 2>/dev/null; then
    kill -TERM "$libvirtd_pid" 2>/dev/null || true
    wait "$libvirtd_pid" 2>/dev/null || true
  fi
  if [ -n "$tmp" ] && [ -f "$tmp/qemu.pid" ]; then
    local qpid
    qpid=$(cat "$tmp/qemu.pid")
    kill -TERM "$qpid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -n "$tmp" ]; then
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ]; then
      say "logs kept in $tmp (agent.log, libvirtd.log, serial.log)"
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1-2. packages and the release build --------------------------------------

missing=()
for p in "${LIBVIRT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (for the libvirtd comparison)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi
bash scripts/setup-deps.sh

# Configured every time: the options are what make the figures meaningful,
# and libvirt-dev may have arrived since the last configure (forget the
# cached "not found").
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -G Ninja -DHV_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release \
  -U__pkg_config_checked_BENCH_LIBVIRT >"$BUILD/bench-configure.log" 2>&1 ||
  { tail -20 "$BUILD/bench-configure.log" >&2; die "cmake configure failed (log: $BUILD/bench-configure.log)"; }
# A tree configured with sanitizers would measure them: refuse it.
grep -q '^HV_SANITIZE:BOOL=OFF$' "$BUILD/CMakeCache.txt" ||
  die "$BUILD is configured with HV_SANITIZE=ON; remove it and run again"
targets=(hv-core hv-agent hv-rpc-bench hv-virt-bench hv-cmd-bench)
all_targets=$(ninja -C "$BUILD" -t targets all 2>/dev/null || true)
have_target() { grep -q "^$1:" <<<"$all_targets"; }
have_target hvctl && targets+=(hvctl)
say "building ${targets[*]} in $BUILD (release, no sanitizers)"
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" >"$BUILD/bench-build.log" 2>&1 ||
  { tail -30 "$BUILD/bench-build.log" >&2; die "build failed (log: $BUILD/bench-build.log)"; }
bin="$BUILD/bin"
hvctl=""
[ -x "$bin/hvctl" ] && hvctl="$bin/hvctl"

tmp=$(mktemp -d /tmp/hv-bench.XXXXXX)
results="$tmp/results.txt"
: >"$results"

# --- 3. hv-core under QEMU and hv-agent ----------------------------------------

say "booting hv-core under QEMU"
bash scripts/hv-qemu.sh --dir "$tmp" --core "$BUILD/hv-core-out"

# Mutual TLS needs a development PKI (hvctl pki init) and an agent that
# listens on TCP; without either, the TLS rows say "not available".
tls_note=""
tls_opt=""
agent_help=$("$bin/hv-agent" --help 2>&1 || true)
if [ -n "${BENCH_PKI:-}" ]; then
  # A PKI made earlier by `hvctl pki init` (ca.crt, server.*, viewer.*).
  cp -r "$BENCH_PKI" "$tmp/pki" || die "cannot copy BENCH_PKI=$BENCH_PKI"
  [ -f "$tmp/pki/ca.crt" ] || die "BENCH_PKI=$BENCH_PKI has no ca.crt"
fi
if [ -f "$tmp/pki/ca.crt" ]; then
  :
elif [ -z "$hvctl" ]; then
  tls_note="hvctl is not built, so no PKI could be made (hvctl pki init)"
elif ! "$hvctl" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1; then
  tls_note="hvctl pki init failed: $(tail -1 "$tmp/pki.log")"
fi
if [ -n "$tls_note" ]; then
  :
elif ! grep -q -- '--listen' <<<"$agent_help"; then
  tls_note="hv-agent has no --listen option"
elif grep -q -- '--tls-dir' <<<"$agent_help"; then
  tls_opt="--tls-dir"
elif grep -q -- '--pki' <<<"$agent_help"; then
  tls_opt="--pki"
else
  tls_note="hv-agent names no option for its TLS certificate directory"
fi

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || { echo "$p"; return 0; }
  done
  return 1
}

# Starts hv-agent (with TLS on $port when $1 = tls); returns non-zero if it
# exits during start-up.
start_agent() {
  local args=(--state-dir "$tmp" --foreground)
  [ "$1" = tls ] && args+=(--listen "127.0.0.1:$port" "$tls_opt" "$tmp/pki")
  "$bin/hv-agent" "${args[@]}" >>"$tmp/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$agent_pid" 2>/dev/null || { wait "$agent_pid" 2>/dev/null || true; agent_pid=""; return 1; }
    [ -S "$tmp/hv-agent.sock" ] && return 0
    sleep 0.1
  done
  return 1
}

port=""
agent_up=0
if [ -z "$tls_note" ]; then
  for _ in 1 2 3; do
    port=$(free_port) || break
    if start_agent tls; then agent_up=1; break; fi
  done
  if [ "$agent_up" = 0 ]; then
    tls_note="hv-agent did not start with --listen: $(tail -1 "$tmp/agent.log")"
  fi
fi
if [ "$agent_up" = 0 ]; then
  start_agent unix || { tail -5 "$tmp/agent.log" >&2; die "hv-agent did not start"; }
fi

# hv-core needs a moment to boot and define its VMs; the agent answers
# UNAVAILABLE until then.
ready=0
for _ in $(seq 1 100); do
  if "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" --vm "$VM" --calls 1 \
       >/dev/null 2>"$tmp/probe.log"; then ready=1; break; fi
  sleep 0.3
done
[ "$ready" = 1 ] || die "GetVm $VM never succeeded: $(tail -1 "$tmp/probe.log")"

if [ -z "$tls_note" ]; then
  if ! "$bin/hv-rpc-bench" --target "127.0.0.1:$port" --tls-dir "$tmp/pki" --vm "$VM" \
       --calls 1 >/dev/null 2>"$tmp/probe-tls.log"; then
    tls_note="GetVm over mutual TLS failed: $(tail -1 "$tmp/probe-tls.log")"
  fi
fi
[ -z "$tls_note" ] || say "mutual-TLS rows not available: $tls_note"

# The local frame protocol (docs/api.md): an hv-agent without it is told
# apart from one that fails.
frame_note=""
if ! "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" --frame --vm "$VM" --calls 1 \
     >/dev/null 2>"$tmp/probe-frame.log"; then
  frame_note="GetVm with the local frame protocol failed: $(tail -1 "$tmp/probe-frame.log")"
  say "frame-protocol rows not available: $frame_note"
fi

# --- 4. libvirtd, privately ------------------------------------------------------

mkdir -p "$tmp/libvirt/sock" "$tmp/libvirt/drivers" "$tmp/libvirt/run"
cat >"$tmp/libvirt/libvirtd.conf" <<EOF
unix_sock_dir = "$tmp/libvirt/sock"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
# An empty driver directory keeps the QEMU driver (and its system user) out:
# only the test driver built into libvirt is left.
LIBVIRT_DRIVER_DIR="$tmp/libvirt/drivers" XDG_RUNTIME_DIR="$tmp/libvirt/run" \
  /usr/sbin/libvirtd -f "$tmp/libvirt/libvirtd.conf" >"$tmp/libvirtd.log" 2>&1 &
libvirtd_pid=$!
vuri="test+unix:///default?socket=$tmp/libvirt/sock/libvirt-sock"
for _ in $(seq 1 100); do
  [ -S "$tmp/libvirt/sock/libvirt-sock" ] && break
  kill -0 "$libvirtd_pid" 2>/dev/null || { tail -5 "$tmp/libvirtd.log" >&2; die "libvirtd exited"; }
  sleep 0.1
done
virsh -c "$vuri" dominfo "$VIRT_DOMAIN" >/dev/null 2>"$tmp/virsh-probe.log" ||
  die "virsh dominfo against the private libvirtd failed: $(tail -1 "$tmp/virsh-probe.log")"

# --- 5. per-call rounds -------------------------------------------------------------

# One measurement; its key=value line is stored under KEY CLIENTS. PID is the
# server's: its CPU time over the window, per call, is read from /proc.
measure() {
  local key=$1 n=$2 pid=$3 line
  shift 3
  if ! line=$("$@" --clients "$n" --seconds "$BENCH_SECS" --server-pid "$pid" 2>"$tmp/last.err"); then
    cat "$tmp/last.err" >&2
    die "$key with $n clients failed"
  fi
  echo "$key $n $line" >>"$results"
}

hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Each round measures every cell once, so slow phases of a shared machine
# spread over both daemons. hv-agent's unix cells come first in a round, the
# frame protocol's before gRPC's: its peak RSS after them in round 1 is the
# figure comparable with libvirtd (which serves unix clients only); the peaks
# after the gRPC unix cells and after the TLS cells are reported beside it.
say "per-call rounds: $BENCH_RUNS x clients {$BENCH_CLIENTS} x ${BENCH_SECS}s per cell"
agent_frame_kb="" agent_unix_kb="" agent_pretls_kb="" agent_tls_kb=""
max_clients=$(tr ' ' '\n' <<<"$BENCH_CLIENTS" | sort -n | tail -1)
for r in $(seq 1 "$BENCH_RUNS"); do
  say "round $r/$BENCH_RUNS"
  if [ -z "$frame_note" ]; then
    for n in $BENCH_CLIENTS; do
      measure agent-frame "$n" "$agent_pid" "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" --frame --vm "$VM"
    done
    [ -n "$agent_frame_kb" ] || agent_frame_kb=$(hwm_kb "$agent_pid")
  fi
  for n in $BENCH_CLIENTS; do
    measure agent-unix "$n" "$agent_pid" "$bin/hv-rpc-bench" --target "unix:$tmp/hv-agent.sock" --vm "$VM"
  done
  [ -n "$agent_unix_kb" ] || agent_unix_kb=$(hwm_kb "$agent_pid")
  if [ -z "$tls_note" ]; then
    for n in $BENCH_CLIENTS; do
      [ -n "$agent_pretls_kb" ] || agent_pretls_kb=$(hwm_kb "$agent_pid")
      measure agent-tls "$n" "$agent_pid" "$bin/hv-rpc-bench" --target "127.0.0.1:$port" --tls-dir "$tmp/pki" --vm "$VM"
      # The first TLS cells raise the peak by what their connections cost.
      [ -n "$agent_tls_kb" ] || [ "$n" != "$max_clients" ] || agent_tls_kb=$(hwm_kb "$agent_pid")
    done
  fi
  for n in $BENCH_CLIENTS; do
    measure virt-dominfo "$n" "$libvirtd_pid" "$bin/hv-virt-bench" --uri "$vuri" --domain "$VIRT_DOMAIN" --op dominfo
    measure virt-getinfo "$n" "$libvirtd_pid" "$bin/hv-virt-bench" --uri "$vuri" --domain "$VIRT_DOMAIN" --op getinfo
  done
done

# --- 6. whole commands -------------------------------------------------------------

say "whole commands: $BENCH_CMD_RUNS runs each"
cmd_note=""
"$bin/hv-cmd-bench" --runs "$BENCH_CMD_RUNS" --label virsh -- \
  virsh -c "$vuri" dominfo "$VIRT_DOMAIN" >>"$results" || die "timing virsh dominfo failed"
# Start-up alone (no connection, no call), to tell it apart from the RPCs.
"$bin/hv-cmd-bench" --runs "$BENCH_CMD_RUNS" --label virsh-start -- virsh --help >>"$results" ||
  die "timing virsh --help failed"
if [ -z "$hvctl" ]; then
  cmd_note="hvctl is not built"
elif ! "$hvctl" --connect "unix://$tmp/hv-agent.sock" dominfo "$VM" >/dev/null 2>"$tmp/hvctl.err"; then
  cmd_note="hvctl dominfo failed: $(tail -1 "$tmp/hvctl.err")"
else
  "$bin/hv-cmd-bench" --runs "$BENCH_CMD_RUNS" --label hvctl -- \
    "$hvctl" --connect "unix://$tmp/hv-agent.sock" dominfo "$VM" >>"$results" ||
    die "timing hvctl dominfo failed"
  "$bin/hv-cmd-bench" --runs "$BENCH_CMD_RUNS" --label hvctl-start -- "$hvctl" --help >>"$results" ||
    die "timing hvctl --help failed"
  # The same command as a plain gRPC client makes it (an hvctl without --grpc
  # has nothing to compare).
  if "$hvctl" --help 2>&1 | grep -q -- '--grpc'; then
    "$bin/hv-cmd-bench" --runs "$BENCH_CMD_RUNS" --label hvctl-grpc -- \
      "$hvctl" --grpc --connect "unix://$tmp/hv-agent.sock" dominfo "$VM" >>"$results" ||
      die "timing hvctl --grpc dominfo failed"
  fi
fi

# --- 7. memory and the table ------------------------------------------------------

agent_kb=$(hwm_kb "$agent_pid")
virt_kb=$(hwm_kb "$libvirtd_pid")
qemu_cpu=$(ps -o %cpu= -p "$(cat "$tmp/qemu.pid")" 2>/dev/null | tr -d ' ' || echo "?")

export tls_note frame_note cmd_note agent_kb agent_frame_kb agent_unix_kb agent_pretls_kb agent_tls_kb max_clients virt_kb BENCH_SECS BENCH_RUNS BENCH_CMD_RUNS BENCH_CLIENTS VM VIRT_DOMAIN
export bench_date=$(date -u '+%Y-%m-%d %H:%M UTC')
export bench_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
export bench_ncpu=$(nproc)
export bench_load=$(cut -d' ' -f1-3 /proc/loadavg)
export bench_grpc=$(pkg-config --modversion grpc 2>/dev/null || echo "?")
export bench_libvirt=$(dpkg-query -W -f='${Version}' libvirt-daemon 2>/dev/null || echo "?")
export bench_qemu_cpu=$qemu_cpu

out="$BUILD/bench-results.md"
export results_json="$BUILD/bench-results.json"
awk -f "$root/bench/table.awk" "$results" >"$out"
cat "$out"
say "table written to $out"
say "figures written to $results_json (compare two runs: bench/compare.py OLD NEW)"
