#!/usr/bin/env bash
# ota_upload.sh - OTA upload throughput (docs/performance.md "OTA upload"): hv-agent's
# OtaUpload driven by `hvctl ota install --upload-only`, over mutual TLS on loopback and over
# the unix socket, the bundle stored durably (synced every 4 MiB, its durable length recorded)
# and verified at its end, beside the same file verified alone (`hvctl ota info`) and
# copied with fsync (`dd conv=fsync`) for reference. hv-agent runs without hv-core: an
# upload never talks to it. Not part of `make test`; asserts no timing.
#
# usage: bench/ota_upload.sh [BUILD_DIR] [SIZE_MIB] [RUNS]
#   BUILD_DIR  a non-sanitized build with bin/hv-agent and bin/hvctl (default build-bench)
#   SIZE_MIB   the image in the bundle (default 64);  RUNS  rounds (default 5)
set -eu
build=${1:-build-bench} size=${2:-64} runs=${3:-5}
[ -x "$build/bin/hv-agent" ] && [ -x "$build/bin/hvctl" ] ||
  { echo "ota_upload: no $build/bin/hv-agent or hvctl (build them first)" >&2; exit 2; }
build=$(cd "$build" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/hv-ota-upload-XXXXXX")
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

hvctl() { "$build/bin/hvctl" "$@"; }
hvctl pki init --dir "$dir/pki" >/dev/null
head -c $((size * 1048576)) /dev/urandom >"$dir/img"
hvctl ota bundle --key "$dir/pki/update-signer.key" --cert "$dir/pki/update-signer.crt" \
  -o "$dir/b.hvota" "rtos-demo=$dir/img@2.0.0" >/dev/null
bytes=$(stat -c %s "$dir/b.hvota")

port=$((40000 + RANDOM % 20000))
mkdir -p "$dir/state"
"$build/bin/hv-agent" --foreground --state-dir "$dir/state" --listen "127.0.0.1:$port" \
  --tls-dir "$dir/pki" --no-metrics --ota-ca "$dir/pki/update-ca.crt" \
  >"$dir/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 100); do [ -S "$dir/state/hv-agent.sock" ] && break; sleep 0.1; done
[ -S "$dir/state/hv-agent.sock" ] || { tail -5 "$dir/agent.log" >&2; exit 1; }

tls=(--connect "tls://127.0.0.1:$port" --ca "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt"
     --key "$dir/pki/admin.key")
unix=(--connect "unix://$dir/state/hv-agent.sock")
now() { date +%s.%N; }
# MB/s of one timed command (MB = 10^6 bytes).
rate() { # CMD...
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
  t1=$(now)
  awk -v b="$bytes" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f\n", b / (z - a) / 1e6 }'
}
upload() { # CONNECTION...
  rm -f "$dir/state/ota/"*.part "$dir/state/ota/"*.hvota
  rate hvctl "$@" ota install --upload-only "$dir/b.hvota"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

cat "$dir/b.hvota" >/dev/null # the page cache, for every round alike
: >"$dir/tls" ; : >"$dir/unix" ; : >"$dir/info" ; : >"$dir/dd"
for _ in $(seq 1 "$runs"); do
  upload "${tls[@]}" >>"$dir/tls"
  upload "${unix[@]}" >>"$dir/unix"
  rate hvctl ota info --ca "$dir/pki/update-ca.crt" "$dir/b.hvota" >>"$dir/info"
  rate dd if="$dir/b.hvota" of="$dir/copy" bs=256K conv=fsync status=none >>"$dir/dd"
  rm -f "$dir/copy"
done

echo "| what ($size MiB image, bundle $bytes bytes, median of $runs) | MB/s |"
echo "|---|---|"
echo "| OtaUpload over mutual TLS (loopback), synced every 4 MiB, verified | $(median <"$dir/tls") |"
echo "| OtaUpload over the unix socket, the same | $(median <"$dir/unix") |"
echo "| verification alone (\`hvctl ota info\`) | $(median <"$dir/info") |"
echo "| \`dd bs=256K conv=fsync\` of the bundle (a local copy, for reference) | $(median <"$dir/dd") |"
