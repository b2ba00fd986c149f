#!/usr/bin/env python3
"""compare.py - compares the figures of two `make bench` runs.

    bench/compare.py OLD.json NEW.json [--worse PCT]
    bench/compare.py RUN.json

OLD and NEW are result files written by bench/run.sh
(build-bench/bench-results.json). With two files it prints every figure the
two have in common, old and new, and new/old; a figure that moved in its bad
direction by more than PCT percent (default 10) is marked WORSE, one that
moved the other way by as much "better". With one file it prints every
hv-agent/hvctl figure against its libvirtd/virsh counterpart from the same run.

It never fails on a figure: wall-time figures on a shared machine move with
its load, so the output is for a reviewer to read, not a gate. It exits 1 on
a file it cannot read.
"""
import json
import sys


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"compare: {path}: {e}")
    if doc.get("format") != "hv-bench 1" or not isinstance(doc.get("figures"), dict):
        sys.exit(f"compare: {path}: not a bench result file (format 'hv-bench 1' expected)")
    return doc


def fmt(v):
    return f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"


def machine(doc):
    m = doc.get("machine", {})
    return f"{m.get('date', '?')}, {m.get('cpus', '?')} CPUs, load {m.get('load', '?')}"


def against_counterparts(doc):
    figs = doc["figures"]
    print(f"# {machine(doc)}")
    print(f"{'figure':<34} {'value':>10} {'unit':<8} {'counterpart':<30} {'value':>10} {'ratio':>7}")
    for name, f in figs.items():
        vs = f.get("vs")
        if not vs or vs not in figs:
            continue
        other = figs[vs]["value"]
        ratio = f["value"] / other if other else float("nan")
        print(f"{name:<34} {fmt(f['value']):>10} {f['unit']:<8} {vs:<30} "
              f"{fmt(other):>10} {ratio:>6.2f}x")


def between_runs(old, new, worse_pct):
    print(f"# old: {machine(old)}")
    print(f"# new: {machine(new)}")
    print(f"{'figure':<34} {'old':>10} {'new':>10} {'unit':<8} {'new/old':>8}")
    limit = 1 + worse_pct / 100
    nworse = 0
    for name, f in new["figures"].items():
        o = old["figures"].get(name)
        if o is None or o.get("unit") != f.get("unit"):
            continue
        a, b = o["value"], f["value"]
        ratio = b / a if a else float("inf")
        mark = ""
        if a:
            bad = ratio if f.get("better", "lower") == "lower" else 1 / ratio if ratio else float("inf")
            if bad > limit:
                mark = "  WORSE"
                nworse += 1
            elif bad < 1 / limit:
                mark = "  better"
        print(f"{name:<34} {fmt(a):>10} {fmt(b):>10} {f['unit']:<8} {ratio:>7.2f}x{mark}")
    only = sorted(set(old["figures"]) ^ set(new["figures"]))
    if only:
        print("# in one file only: " + ", ".join(only))
    print(f"# {nworse} figure(s) worse by more than {worse_pct:g} %")


def main(argv):
    args, worse = [], 10.0
    i = 1
    while i < len(argv):
        if argv[i] == "--worse":
            if i + 1 >= len(argv):
                sys.exit("compare: --worse needs a percentage")
            try:
                worse = float(argv[i + 1])
            except ValueError:
                sys.exit(f"compare: --worse: '{argv[i + 1]}' is not a number")
            if worse < 0:
                sys.exit(f"compare: --worse: '{argv[i + 1]}' is negative")
            i += 2
        elif argv[i] in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            args.append(argv[i])
            i += 1
    if len(args) == 1:
        against_counterparts(load(args[0]))
    elif len(args) == 2:
        between_runs(load(args[0]), load(args[1]), worse)
    else:
        sys.exit("usage: compare.py OLD.json NEW.json [--worse PCT] | compare.py RUN.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
