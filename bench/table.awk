# table.awk - turns bench/run.sh's raw results into the Markdown table of
# BUILD/bench-results.md: the median over runs of every figure, and hv-agent's
# figures as ratios to libvirtd's for the same number of clients.
#
# Input lines (one per measurement):
#   KEY CLIENTS LABEL clients=N calls=C errors=E seconds=S p50_us=X p99_us=Y ... cps=Z
#   LABEL runs=N median_ms=X min_ms=Y max_ms=Z          (whole commands)
# Context comes from the environment (run.sh exports it).

function kv(    i, a) {
	delete f
	for (i = 1; i <= NF; i++)
		if (split($i, a, "=") == 2)
			f[a[1]] = a[2]
}

# Median of the space-separated numbers in s (mawk has no sort).
function median(s,    v, n, i, j, t) {
	n = split(s, v, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++) {
		t = v[i] + 0
		for (j = i - 1; j >= 1 && v[j] + 0 > t; j--)
			v[j + 1] = v[j]
		v[j + 1] = t
	}
	return n % 2 ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
}

function us(x) { return x == "" ? "" : (x < 1000 ? sprintf("%.1f", x) : sprintf("%.0f", x)) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : sprintf("%.2f×", a / b) }
function mb(kb) { return kb == "" ? "?" : sprintf("%.1f MB", kb / 1024) }

$1 ~ /^(agent|virt)-/ {
	kv()
	k = $1 SUBSEP $2
	p50[k] = p50[k] " " f["p50_us"]
	p99[k] = p99[k] " " f["p99_us"]
	cps[k] = cps[k] " " f["cps"]
	runs[k]++
	next
}
$1 ~ /^(virsh|hvctl)(-start)?$/ {
	kv()
	cmd_med[$1] = f["median_ms"]
	cmd_min[$1] = f["min_ms"]
	cmd_max[$1] = f["max_ms"]
	cmd_runs[$1] = f["runs"]
}

function row(key, n, server, transport, call,    k, a50, a99, acps, r50, rcps, v) {
	k = key SUBSEP n
	v = "virt-dominfo" SUBSEP n
	if (!(k in runs)) {
		printf "| %s | %s | %s | %s | not available | not available | not available | | |\n",
			server, transport, call, n
		return
	}
	a50 = median(p50[k]); a99 = median(p99[k]); acps = median(cps[k])
	r50 = ""; rcps = ""
	if (key ~ /^agent-/ && (v in runs)) {
		r50 = ratio(a50, median(p50[v]))
		rcps = ratio(acps, median(cps[v]))
	}
	printf "| %s | %s | %s | %s | %s | %s | %.0f | %s | %s |\n",
		server, transport, call, n, us(a50), us(a99), acps, r50, rcps
}

END {
	nclients = split(ENVIRON["BENCH_CLIENTS"], clients, " ")
	vm = ENVIRON["VM"]
	dom = ENVIRON["VIRT_DOMAIN"]

	print "# hv-agent against libvirtd: RPC benchmark"
	print ""
	printf "Measured %s on %s (%s CPUs), load average at the end %s; gRPC core %s, libvirt %s.\n",
		ENVIRON["bench_date"], ENVIRON["bench_cpu"], ENVIRON["bench_ncpu"], ENVIRON["bench_load"],
		ENVIRON["bench_grpc"], ENVIRON["bench_libvirt"]
	printf "Each cell is the median of %s runs of %s s (after 0.5 s of warm-up); every client is a\n",
		ENVIRON["BENCH_RUNS"], ENVIRON["BENCH_SECS"]
	print "thread with its own connection and one call in flight. Rounds interleave the two daemons,"
	printf "and hv-core's QEMU runs throughout (it used %s%% of a CPU on average).\n", ENVIRON["bench_qemu_cpu"]
	print ""
	print "## Per call"
	print ""
	print "Ratios are hv-agent's figure divided by libvirtd's \"dominfo\" figure for the same number"
	print "of clients: below 1× the latency is lower, above 1× the throughput is higher."
	print ""
	print "| server | transport | one call | clients | p50 µs | p99 µs | calls/s | p50 vs libvirtd | calls/s vs libvirtd |"
	print "|---|---|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nclients; i++) {
		n = clients[i]
		row("agent-unix", n, "hv-agent", "unix socket", "GetVm(" vm ")")
		row("agent-tls", n, "hv-agent", "TCP, mutual TLS", "GetVm(" vm ")")
		row("virt-dominfo", n, "libvirtd (test driver)", "unix socket",
		    "LookupByName + GetInfo (2 RPCs)")
		row("virt-getinfo", n, "libvirtd (test driver)", "unix socket", "GetInfo only (1 RPC)")
	}
	print ""
	print "## Memory"
	print ""
	print "Peak resident set (VmHWM) of each daemon. libvirtd's is after all of its runs (unix"
	print "clients only); hv-agent's first figure after its unix-socket cells of the first round, the"
	print "second after everything, mutual-TLS connections included."
	print ""
	print "| daemon | after | peak RSS | vs libvirtd |"
	print "|---|---|---:|---:|"
	a = ENVIRON["agent_unix_kb"]; t = ENVIRON["agent_kb"]; v = ENVIRON["virt_kb"]
	printf "| hv-agent | unix-socket clients | %s | %s |\n", mb(a), ratio(a, v)
	if (ENVIRON["tls_note"] == "")
		printf "| hv-agent | all runs, mutual TLS included | %s | %s |\n", mb(t), ratio(t, v)
	printf "| libvirtd (test driver) | all runs | %s | 1.00× |\n", mb(v)
	print ""
	print "## Whole commands"
	print ""
	print "Process start to exit, output to /dev/null; median of " ENVIRON["BENCH_CMD_RUNS"] " runs. The"
	print "--help rows make no connection and no call: what is left is process start-up."
	print ""
	print "| command | median ms | min ms | max ms | vs virsh |"
	print "|---|---:|---:|---:|---:|"
	if ("hvctl" in cmd_med)
		printf "| hvctl dominfo %s | %.2f | %.2f | %.2f | %s |\n", vm, cmd_med["hvctl"],
			cmd_min["hvctl"], cmd_max["hvctl"], ratio(cmd_med["hvctl"], cmd_med["virsh"])
	else
		printf "| hvctl dominfo %s | not available | | | |\n", vm
	if ("virsh" in cmd_med)
		printf "| virsh dominfo %s | %.2f | %.2f | %.2f | 1.00× |\n", dom, cmd_med["virsh"],
			cmd_min["virsh"], cmd_max["virsh"]
	if ("hvctl-start" in cmd_med)
		printf "| hvctl --help (start-up only) | %.2f | %.2f | %.2f | %s |\n", cmd_med["hvctl-start"],
			cmd_min["hvctl-start"], cmd_max["hvctl-start"], ratio(cmd_med["hvctl-start"], cmd_med["virsh-start"])
	if ("virsh-start" in cmd_med)
		printf "| virsh --help (start-up only) | %.2f | %.2f | %.2f | 1.00× |\n", cmd_med["virsh-start"],
			cmd_min["virsh-start"], cmd_max["virsh-start"]
	if (ENVIRON["tls_note"] != "" || ENVIRON["cmd_note"] != "") {
		print ""
		print "## Not measured"
		print ""
		if (ENVIRON["tls_note"] != "")
			print "- TCP with mutual TLS: " ENVIRON["tls_note"] "."
		if (ENVIRON["cmd_note"] != "")
			print "- hvctl dominfo: " ENVIRON["cmd_note"] "."
	}
}
