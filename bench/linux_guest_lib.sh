# bench/linux_guest_lib.sh - what the benchmarks of the Linux guest under
# hv-core share (bench/virtio_blk.sh, bench/virtio_net.sh); sourced, not run.
#
# The sourcing script sets NAME (its prefix in messages), top, build, limit
# (seconds) and keep (1: keep the work directory), and may define
# lg_stop_extra DIR (called first by lg_stop_hv, e.g. to stop hv-agent).
# lg_setup checks QEMU and hv-core, builds the Linux guest and makes $work
# with a trap that stops every hv-core run under it on every exit path.

die() { echo "$NAME: $*" >&2; exit 1; }

# usage: the script's own "# usage:" comment block, up to "set ".
usage() { sed -n '/^# usage:/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

lg_setup() {
	[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number, got '$runs'"
	[[ $limit =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds, got '$limit'"
	command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 not found (scripts/setup-deps.sh)"
	core=$build/hv-core-out
	[ -f "$core/hvcore.bin" ] || die "no $core/hvcore.bin (build hv-core)"
	linux=$build/linux-guest
	"$top/hv-core/guests/linux/build.sh" "$linux" >/dev/null
	work=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
	trap lg_cleanup EXIT
	trap 'exit 130' INT TERM
}

# lg_stop_hv DIR: stops the hv-core run of DIR (scripts/hv-qemu.sh --dir).
lg_stop_hv() {
	local d=$1 p
	if declare -F lg_stop_extra >/dev/null; then lg_stop_extra "$d"; fi
	if [ -f "$d/qemu.pid" ] && p=$(cat "$d/qemu.pid" 2>/dev/null); then
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		rm -f "$d/qemu.pid"
	fi
}

lg_cleanup() {
	for d in "$work"/hv-*; do [ -d "$d" ] && lg_stop_hv "$d"; done
	if [ "$keep" = 1 ]; then echo "$NAME: logs in $work" >&2; else rm -rf "$work"; fi
}

# lg_config_head, lg_config_tail: the start and the end of a system
# configuration on stdout; what is printed between them goes into its vms node.
lg_config_head() {
	printf '/dts-v1/;\n/ {\n\tcompatible = "avirt,system-config-v1";\n'
	printf '\thv-core {\n\t\tvehicle-state {\n\t\t\tsource = "management";\n\t\t\tinitial = "parked";\n\t\t};\n\t};\n'
	printf '\tvms {\n'
}
lg_config_tail() { printf '\t};\n};\n'; }

# lg_boot NAME CONFIG [QEMU args...]: boots hv-core with CONFIG and the Linux
# guest in $work/hv-NAME.
lg_boot() {
	local d=$work/hv-$1 cfg=$2 extra=()
	shift 2
	for a in "$@"; do extra+=(--qemu-arg "$a"); done
	bash "$top/scripts/hv-qemu.sh" --dir "$d" --core "$core" --config "$cfg" --linux "$linux" \
		--cpu "$cpu" ${extra[@]+"${extra[@]}"} >/dev/null 2>&1 || die "$(basename "$d"): hv-qemu.sh failed"
}

# lg_wait_for FILE TEXT PID: until FILE holds TEXT (0), PID ends or the limit passes (1).
lg_wait_for() {
	local i
	for ((i = 0; i < limit * 5; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# median: of the numbers on stdin, DIGITS decimals when the count is even.
lg_median() {
	sort -n | awk -v d="${1:-1}" '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2)
		if (NR % 2) print v[m]; else printf "%.*f\n", d, (v[m] + v[m + 1]) / 2 }'
}

# lg_insn_setup: the instruction-count plugin ($work/insn.so), hv-core's
# symbols ($work/syms.txt) and the names of its virtio functions ($virtio_syms),
# for lg_icount_args and bench/insn_map.py.
lg_insn_setup() {
	command -v aarch64-linux-gnu-nm >/dev/null || die "aarch64-linux-gnu-nm not found (binutils-aarch64-linux-gnu)"
	local elf=$build/hv-core/hvcore.elf
	[ -f "$elf" ] || elf=$(find "$build/hv-core" -name hvcore.elf -print -quit)
	[ -f "$elf" ] || die "no hvcore.elf under $build/hv-core"
	cc -shared -fPIC -O2 -o "$work/insn.so" "$top/bench/insn_profile.c"
	aarch64-linux-gnu-nm -n "$elf" >"$work/syms.txt"
	virtio_syms=$(find "$build/hv-core" -path '*hvcore.elf.dir/core/virtio/*.obj' -exec aarch64-linux-gnu-nm --defined-only {} + |
		awk 'NF == 3 && $2 ~ /[tT]/ { print $3 }' | sort -u | tr '\n' ' ')
}

# lg_icount_args NAME: the QEMU arguments of a deterministic run with the
# plugin, its profile in $work/NAME-profile.txt.
lg_icount_args() { echo "-icount shift=0,sleep=off -plugin $work/insn.so -d plugin -D $work/$1-profile.txt"; }
