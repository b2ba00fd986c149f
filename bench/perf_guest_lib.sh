# perf_guest_lib.sh - sourced by the bench scripts that boot hv-core under QEMU
# with the "perf" guest and one of the instruction-counting plugins of bench/
# (trap_profile.sh, el2_sections.sh), run it until the guest reports "ticks,
# done", and read what the plugin wrote when QEMU ended.
#
#   pg_init NAME BUILD          checks hv-core, hvcore.elf and nm in BUILD; makes
#                               $dir (kept on failure) and the EXIT trap that
#                               stops QEMU; sets $core, $elf, $nm, $dir
#   pg_plugin SOURCE            builds bench/SOURCE into $dir/plugin.so
#   pg_run CONFIG OUT [QEMU ARG]...  boots CONFIG with the plugin writing to
#                               OUT, waits for the guest's report, ends QEMU
#   pg_done                     marks success: $dir is removed at exit
# Callers use `set -euo pipefail`.

pg_init() {
  pg_name=$1
  local build=$2
  core="$build/hv-core-out"
  elf="$build/hv-core/hvcore.elf"
  [ -f "$elf" ] || elf=$(find "$build" -name hvcore.elf -print -quit 2>/dev/null || true)
  [ -f "$core/hvcore.bin" ] || { echo "$pg_name: no hv-core in $core (build it first)" >&2; exit 1; }
  [ -n "$elf" ] && [ -f "$elf" ] || { echo "$pg_name: no hvcore.elf under $build" >&2; exit 1; }
  nm=aarch64-linux-gnu-nm
  command -v "$nm" >/dev/null || { echo "$pg_name: $nm not found (binutils-aarch64-linux-gnu)" >&2; exit 1; }
  dir=$(mktemp -d "/tmp/hv-$pg_name.XXXXXX")
  pg_ok=0
  trap pg_cleanup EXIT
}

pg_stop_qemu() {
  local p
  if [ -f "$dir/qemu.pid" ] && p=$(cat "$dir/qemu.pid" 2>/dev/null); then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/qemu.pid"
  fi
}

pg_cleanup() {
  pg_stop_qemu
  if [ "$pg_ok" = 1 ]; then rm -rf "$dir"; else echo "$pg_name: logs kept in $dir" >&2; fi
}

pg_plugin() {
  cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$dir/plugin.so" "$root/bench/$1" -lpthread
}

pg_run() {
  local config=$1 out=$2
  shift 2
  local extra=()
  for a in "$@"; do extra+=(--qemu-arg "$a"); done
  bash "$root/scripts/hv-qemu.sh" --dir "$dir" --core "$core" --config "$config" "${extra[@]}" \
    --qemu-arg -plugin --qemu-arg "$dir/plugin.so" \
    --qemu-arg -d --qemu-arg plugin --qemu-arg -D --qemu-arg "$out" >/dev/null
  for _ in $(seq 1 600); do
    grep -q 'ticks, done' "$dir/serial.log" 2>/dev/null && break
    sleep 0.5
  done
  grep -q 'ticks, done' "$dir/serial.log" || { echo "$pg_name: the perf guest did not finish" >&2; exit 1; }
  # The plugin writes its figures when QEMU exits.
  pg_stop_qemu
}

pg_done() { pg_ok=1; }
