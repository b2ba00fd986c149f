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
# --guest NAME    boots the VM of hv-core/guests/vms/NAME.dtsi: the VM nodes of
#                 all --guest options (in the order given) are composed into
#                 one boot configuration, DIR/guests.dts, which is then handled
#                 as --config handles FILE (below). Default: --guest rtos-demo.
#                 Known: the .dtsi files of hv-core/guests/vms (rtos-demo,
#                 bad-access, irq-test, linux).
#                 The composed configuration is a bench's: the vehicle state
#                 comes from the management interface, starting parked
#                 (docs/vm-config.md VMCFG-401; `hvctl vehicle set STATE`).
# --linux DIR     DIR/Image and DIR/initramfs.cpio.gz, the images @...:linux@ and
#                 @...:linux-initramfs@ name (default CORE/../linux-guest: the
#                 build's linux-guest target output).
# --no-config     boots hv-core without a boot configuration: it defines no VM.
# --qemu-arg ARG  one more argument for QEMU (repeatable; e.g. -plugin, -d).
# --config FILE.dts  boot configuration (docs/vm-config.md section 9): a system
#                 configuration compiled with dtc (DIR/bootcfg.dtb) and placed
#                 at 0x41F00000; hv-core defines its VMs.
#                 @STORE:NAME@, @SIZE:NAME@ and @SHA256:NAME@ in FILE are
#                 replaced by an image-store address (2 MiB slots from
#                 0x42000000, in order of appearance), the size and the digest
#                 of CORE/guests/NAME.bin (linux, linux-initramfs: see --linux),
#                 which is placed at that address. --config and --guest
#                 exclude each other.
# --selftest-inject MASK  boot self-test fault injection (MGMT-191): places
#                 the flag word at 0x41FFF000 so check n sees its subject
#                 corrupted for each bit n of MASK (hvcore-test.bin only).
# --update-ca CERT  the update CA (PEM) hv-core checks OTA manifests against
#                 (docs/vm-config.md VMCFG-601): with --guest, the composed
#                 configuration gets /hv-core/ota { update-ca = [DER]; }, so
#                 hv-core installs only images an update signer of CERT signed.
# --ota-system ID the target system a manifest must name (with --update-ca;
#                 default: any).
# --nvram FILE    hv-core's non-volatile storage (docs/mgmt-abi.md MGMT-600):
#                 QEMU virt's second flash bank, backed by FILE (64 MiB; made
#                 when missing). Default DIR/nvram.bin, which stays across runs
#                 in the same DIR: slot, trial and anti-rollback state survive.
# --slot-store FILE[,SIZE]  hv-core's slot store (docs/mgmt-abi.md MGMT-661):
#                 a second memory node of QEMU virt, right after the RAM
#                 (0x80000000 with --mem 1G), backed by FILE (SIZE, default
#                 256M, 2 MiB aligned; made sparse when missing). Default
#                 DIR/slots.bin, which stays across runs in the same DIR like
#                 --nvram. With --guest the composed configuration names it
#                 (/hv-core/ota { slot-store = <base size>; }); with --config,
#                 FILE's @SLOT-STORE@ is replaced by that <base size>.
# --hv-image FILE the hypervisor image to boot instead of CORE/hvcore.bin
#                 (tests: CORE/hvcore-test.bin, built with the test hooks).
# --cpu           cortex-a72 by default: no pointer authentication, which QEMU
#                 emulates slowly and hv-core does not context-switch.
# Background (default): returns once QEMU has started (-daemonize).
# --foreground: exec's QEMU in place, so the caller's child *is* QEMU.
set -euo pipefail

usage() { sed -n '2,62p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

dir= core= hvimage= nvram= mem=1G smp=4 cpu=cortex-a72 icount=0 fg=0 guests=() linux= qemu_extra=() config= inject= noconfig=0 updca= otasys= slotstore=
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=${2:?}; shift 2 ;;
    --core) core=${2:?}; shift 2 ;;
    --hv-image) hvimage=${2:?}; shift 2 ;;
    --nvram) nvram=${2:?}; shift 2 ;;
    --slot-store) slotstore=${2:?}; shift 2 ;;
    --update-ca) updca=${2:?}; shift 2 ;;
    --ota-system) otasys=${2:?}; shift 2 ;;
    --guest) guests+=("${2:?}"); shift 2 ;;
    --linux) linux=${2:?}; shift 2 ;;
    --qemu-arg) qemu_extra+=("${2:?}"); shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    --no-config) noconfig=1; shift ;;
    --selftest-inject) inject=${2:?}; shift 2 ;;
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
[ -n "$hvimage" ] || hvimage="$core/hvcore.bin"
[ -f "$hvimage" ] || { echo "hv-qemu.sh: no hypervisor image '$hvimage' (build hv-core first)" >&2; exit 1; }
[ ${#guests[@]} -eq 0 ] || [ -z "$config" ] || { echo "hv-qemu.sh: --guest and --config exclude each other (put the VMs in FILE)" >&2; exit 2; }
if [ "$noconfig" = 1 ] && { [ ${#guests[@]} -gt 0 ] || [ -n "$config" ]; }; then
  echo "hv-qemu.sh: --no-config excludes --guest and --config" >&2; exit 2
fi
[ ${#guests[@]} -gt 0 ] || [ -n "$config" ] || [ "$noconfig" = 1 ] || guests=(rtos-demo)
if [ -n "$updca" ]; then
  [ ${#guests[@]} -gt 0 ] || { echo "hv-qemu.sh: --update-ca goes with --guest (with --config, put /hv-core/ota in FILE)" >&2; exit 2; }
  [ -f "$updca" ] || { echo "hv-qemu.sh: update CA '$updca' not found" >&2; exit 1; }
  ca_hex=$(openssl x509 -in "$updca" -outform der 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  [ -n "$ca_hex" ] || { echo "hv-qemu.sh: '$updca' is not a PEM certificate" >&2; exit 1; }
fi
[ -z "$config" ] || [ -f "$config" ] || { echo "hv-qemu.sh: configuration '$config' not found" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
vmdir="$src/hv-core/guests/vms"
for g in ${guests[@]+"${guests[@]}"}; do
  [ -f "$vmdir/$g.dtsi" ] || { echo "hv-qemu.sh: unknown guest '$g' (known: $(cd "$vmdir" && ls *.dtsi | sed 's/\.dtsi$//' | tr '\n' ' '))" >&2; exit 1; }
done
[ -n "$linux" ] || linux="$core/../linux-guest"

# The file behind an image placeholder name.
image_of() {
  case "$1" in
    linux) echo "$linux/Image" ;;
    linux-initramfs) echo "$linux/initramfs.cpio.gz" ;;
    *) echo "$core/guests/$1.bin" ;;
  esac
}

loaders=()
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir/guest-ram" "$dir/serial.log" "$dir/qemu.pid" "$dir/guests.dts" "$dir/bootcfg.dts" "$dir/bootcfg.dtb"
# A fresh, sparse file: nothing from an earlier run may look like a live region.
truncate -s "$mem" "$dir/guest-ram"
# MGMT-600: the flash bank keeps what hv-core stored in earlier runs
[ -n "$nvram" ] || nvram="$dir/nvram.bin"
nvbytes=$((64 << 20))
[ -e "$nvram" ] || truncate -s "$nvbytes" "$nvram"
[ "$(stat -c %s "$nvram")" = "$nvbytes" ] || { echo "hv-qemu.sh: '$nvram' is not $nvbytes bytes (a flash bank of QEMU virt)" >&2; exit 1; }

# MGMT-661: the slot store keeps what hv-core stored in earlier runs too
bytes_of() {
  local v=${1%[KkMmGg]}
  case "$1" in
    *[Kk]) echo $((v << 10)) ;; *[Mm]) echo $((v << 20)) ;; *[Gg]) echo $((v << 30)) ;;
    *) echo $((v)) ;;
  esac
}
slotfile=${slotstore%%,*} slotsize=256M
[ "$slotfile" = "$slotstore" ] || slotsize=${slotstore#*,}
[ -n "$slotfile" ] || slotfile="$dir/slots.bin"
slotbytes=$(bytes_of "$slotsize" 2>/dev/null) || slotbytes=0
[ "$slotbytes" -gt 0 ] && [ $((slotbytes & 0x1fffff)) = 0 ] || { echo "hv-qemu.sh: slot store size '$slotsize' is not a positive multiple of 2 MiB" >&2; exit 2; }
membytes=$(bytes_of "$mem")
slotbase=$(printf '0x%x' $((0x40000000 + membytes)))
[ $((slotbase + slotbytes)) -le $((4 << 30)) ] || { echo "hv-qemu.sh: the slot store at $slotbase (after --mem $mem of RAM) does not end below 4 GiB: give less RAM or a smaller --slot-store FILE,SIZE" >&2; exit 2; }
[ -e "$slotfile" ] || truncate -s "$slotbytes" "$slotfile"
[ "$(stat -c %s "$slotfile")" = "$slotbytes" ] || { echo "hv-qemu.sh: slot store '$slotfile' is not $slotbytes bytes (give its size: --slot-store FILE,SIZE)" >&2; exit 1; }
slotprop=$(printf '<0x%x 0x%x 0x%x 0x%x>' $((slotbase >> 32)) $((slotbase & 0xffffffff)) $((slotbytes >> 32)) $((slotbytes & 0xffffffff)))

if [ ${#guests[@]} -gt 0 ]; then
  # one boot configuration of the named guests' VM nodes
  config="$dir/guests.dts"
  {
    echo "/dts-v1/;"
    echo "/* composed by hv-qemu.sh from hv-core/guests/vms: ${guests[*]} */"
    echo "/ {"
    echo "	compatible = \"avirt,system-config-v1\";"
    echo "	hv-core {"
    echo "		/* a bench: the vehicle state is set through management (VMCFG-401) */"
    echo "		vehicle-state {"
    echo "			source = \"management\";"
    echo "			initial = \"parked\";"
    echo "		};"
    echo "		ota {"
    echo "			/* MGMT-660: the A/B slots of Linux-sized images */"
    echo "			slot-store = $slotprop;"
    if [ -n "$updca" ]; then
      echo "			/* OTA manifests must be signed by a signer of this update CA (VMCFG-601) */"
      [ -z "$otasys" ] || echo "			system = \"$otasys\";"
      echo "			update-ca = [$ca_hex];"
    fi
    echo "		};"
    echo "	};"
    echo "	vms {"
    for g in $(printf '%s\n' "${guests[@]}" | awk '!seen[$0]++'); do
      cat "$vmdir/$g.dtsi"
    done
    echo "	};"
    echo "};"
  } > "$config"
fi
if [ -n "$config" ]; then
  # the boot configuration: placeholders filled from the guest images (REQ-SAF-12
  # digests computed here, checked by hv-core before each boot)
  sed_args=() next=$((0x42000000))
  for n in $(grep -o '@\(STORE\|SIZE\|SHA256\):[a-z0-9_-]*@' "$config" | sed 's/^@[A-Z0-9]*:\(.*\)@$/\1/' | awk '!seen[$0]++'); do
    img=$(image_of "$n")
    [ -f "$img" ] || { echo "hv-qemu.sh: '$config' names guest image '$img', not found (build it first)" >&2; exit 1; }
    size=$(stat -c %s "$img")
    sha=$(sha256sum "$img" | cut -c1-64 | sed 's/../& /g')
    store=$(printf '0x%x' "$next")
    next=$(( next + ((size + 0x1fffff) & ~0x1fffff) ))
    [ "$next" -le $((0x48000000)) ] || { echo "hv-qemu.sh: the images of '$config' do not fit the image store (0x42000000..0x47ffffff)" >&2; exit 1; }
    sed_args+=(-e "s/@STORE:$n@/$store/g" -e "s/@SIZE:$n@/$(printf '0x%x' "$size")/g" -e "s/@SHA256:$n@/$sha/g")
    loaders+=(-device "loader,file=$img,addr=$store,force-raw=on")
  done
  sed_args+=(-e "s/@SLOT-STORE@/$slotprop/g")
  sed "${sed_args[@]}" "$config" > "$dir/bootcfg.dts"
  dtc -q -I dts -O dtb -o "$dir/bootcfg.dtb" "$dir/bootcfg.dts" || { echo "hv-qemu.sh: dtc failed on '$config'" >&2; exit 1; }
  [ "$(stat -c %s "$dir/bootcfg.dtb")" -le $((256 << 10)) ] || { echo "hv-qemu.sh: boot configuration larger than 256 KiB" >&2; exit 1; }
  loaders+=(-device "loader,file=$dir/bootcfg.dtb,addr=0x41f00000,force-raw=on")
fi
if [ -n "$inject" ]; then
  loaders+=(-device "loader,addr=0x41fff000,data=$(printf '0x%08x4a4e4953' "$((inject))"),data-len=8")
fi

extra=(${qemu_extra[@]+"${qemu_extra[@]}"})
[ "$icount" = 1 ] && extra+=(-icount shift=auto,sleep=on)

args=(
  -machine virt,virtualization=on,gic-version=3
  -cpu "$cpu" -smp "$smp" -m "$(( (membytes + slotbytes) >> 20 ))M"
  -object "memory-backend-file,id=ram,mem-path=$dir/guest-ram,size=$mem,share=on"
  -object "memory-backend-file,id=slots,mem-path=$slotfile,size=$slotbytes,share=on"
  -numa "node,nodeid=0,cpus=0-$((smp - 1)),memdev=ram"
  -numa "node,nodeid=1,memdev=slots"
  -kernel "$hvimage"
  -drive "if=pflash,unit=1,format=raw,file=$nvram"
  ${loaders[@]+"${loaders[@]}"}
  -display none -monitor none -serial "file:$dir/serial.log"
  -nodefaults -nic none -no-reboot
  ${extra[@]+"${extra[@]}"}
)

if [ "$fg" = 1 ]; then
  echo $$ > "$dir/qemu.pid"
  exec qemu-system-aarch64 "${args[@]}"
fi
qemu-system-aarch64 "${args[@]}" -daemonize -pidfile "$dir/qemu.pid"
