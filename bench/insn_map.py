"""bench/insn_map.py - hv-core instructions by function from the profile that
bench/insn_profile.c writes ("insn_profile: ADDR COUNT" lines) and the symbol
list of `aarch64-linux-gnu-nm -n hvcore.elf`; imported by the benchmarks of
bench/linux_guest_lib.sh."""
import bisect


class Symbols:
    def __init__(self, nm_path):
        self.syms = sorted((int(f[0], 16), f[2]) for f in (l.split() for l in open(nm_path))
                           if len(f) == 3 and f[1] in "tTwW")
        self.addrs = [a for a, _ in self.syms]

    def name(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.syms[i][1] if i >= 0 else "?"

    def profile(self, path, group=()):
        """(all instructions, those in the functions of group, per function)"""
        group = set(group)
        total = grouped = 0
        per = {}
        for line in open(path):
            f = line.split()
            if len(f) != 3 or f[0] != "insn_profile:":
                continue
            c = int(f[2])
            name = self.name(int(f[1], 16))
            total += c
            per[name] = per.get(name, 0) + c
            if name in group:
                grouped += c
        return total, grouped, per
