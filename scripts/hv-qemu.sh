#!/usr/bin/env bash
# hv-qemu.sh - run hv-core under QEMU (virt, EL2, GICv3) for one state directory.
#
#   scripts/hv-qemu.sh --dir DIR --core BUILD/hv-core-out [--guest NAME]...
#                      [--mem 1G] [--smp 4] [--cpu cortex-a72] [--icount] [--foreground]
#
# DIR/guest-ram   the machine's RAM as a shared file (re-created empty each run);
#                 a host process maps it to reach the management region at
#                 file offset 0x1000000 (physical 0x41000000).
# DIR/serial.log  the physical UART (hv-core's log and the guests' console lines).
# DIR/qemu.pid    QEMU's process id.
#
# --guest NAME    places CORE/guests/NAME.bin in NAME's image-store slot; hv-core
#                 defines and starts exactly the built-in VMs whose slot holds an
#                 image. Default: --guest rtos-demo. Known slots:
#                   rtos-demo  0x42000000      bad-access 0x42200000
# Background (default): returns once QEMU has started (-daemonize).
# --foreground: exec's QEMU in place, so the caller's child *is* QEMU.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

dir= core= mem=1G smp=4 cpu=cortex-a72 icount=0 fg=0 guests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=${2:?}; shift 2 ;;
    --core) core=${2:?}; shift 2 ;;
    --guest) guests+=("${2:?}"); shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --cpu) cpu=${2:?}; shift 2 ;;
    --icount) icount=1; shift ;;
    --foreground) fg=1; shift ;;
    -h|--help) usage ;;
    *) echo "hv-qemu.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[ -n "$dir" ] && [ -n "$core" ] || { echo "hv-qemu.sh: --dir and --core are required" >&2; usage; }
[ -f "$core/hvcore.bin" ] || { echo "hv-qemu.sh: no hvcore.bin in '$core' (build hv-core first)" >&2; exit 1; }
[ ${#guests[@]} -gt 0 ] || guests=(rtos-demo)

slot_of() {
  case "$1" in
    rtos-demo) echo 0x42000000 ;;
    bad-access) echo 0x42200000 ;;
    *) return 1 ;;
  esac
}

loaders=()
for g in "${guests[@]}"; do
  addr=$(slot_of "$g") || { echo "hv-qemu.sh: unknown guest '$g' (known: rtos-demo, bad-access)" >&2; exit 1; }
  img="$core/guests/$g.bin"
  [ -f "$img" ] || { echo "hv-qemu.sh: guest image '$img' not found" >&2; exit 1; }
  loaders+=(-device "loader,file=$img,addr=$addr,force-raw=on")
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir/guest-ram" "$dir/serial.log" "$dir/qemu.pid"
# A fresh, sparse file: nothing from an earlier run may look like a live region.
truncate -s "$mem" "$dir/guest-ram"

extra=()
[ "$icount" = 1 ] && extra+=(-icount shift=auto,sleep=on)

args=(
  -machine virt,virtualization=on,gic-version=3,memory-backend=ram
  -cpu "$cpu" -smp "$smp" -m "$mem"
  -object "memory-backend-file,id=ram,mem-path=$dir/guest-ram,size=$mem,share=on"
  -kernel "$core/hvcore.bin"
  "${loaders[@]}"
  -display none -monitor none -serial "file:$dir/serial.log"
  -nodefaults -nic none -no-reboot
  "${extra[@]}"
)

if [ "$fg" = 1 ]; then
  echo $$ > "$dir/qemu.pid"
  exec qemu-system-aarch64 "${args[@]}"
fi
qemu-system-aarch64 "${args[@]}" -daemonize -pidfile "$dir/qemu.pid"
