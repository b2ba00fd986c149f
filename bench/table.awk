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
	if ("server_cpu_us" in f)
		cpu[k] = cpu[k] " " f["server_cpu_us"]
	runs[k]++
	next
}
$1 ~ /^(virsh|hvctl)(-start|-grpc)?$/ {
	kv()
	cmd_med[$1] = f["median_ms"]
	cmd_min[$1] = f["min_ms"]
	cmd_max[$1] = f["max_ms"]
	cmd_runs[$1] = f["runs"]
}

function row(key, n, server, transport, call,    k, a50, a99, acps, acpu, r50, rcps, r50g, rcpu, v, g) {
	k = key SUBSEP n
	v = "virt-dominfo" SUBSEP n
	g = "virt-getinfo" SUBSEP n
	if (!(k in runs)) {
		printf "| %s | %s | %s | %s | not available | not available | not available | | | | | |\n",
			server, transport, call, n
		return
	}
	a50 = median(p50[k]); a99 = median(p99[k]); acps = median(cps[k]); acpu = median(cpu[k])
	r50 = ""; rcps = ""; r50g = ""; rcpu = ""
	if (key ~ /^agent-/ && (v in runs)) {
		r50 = ratio(a50, median(p50[v]))
		rcps = ratio(acps, median(cps[v]))
	}
	if (key ~ /^agent-/ && (g in runs)) {
		r50g = ratio(a50, median(p50[g]))
		rcpu = ratio(acpu, median(cpu[g]))
	}
	printf "| %s | %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n",
		server, transport, call, n, us(a50), us(a99), acps, acpu == "" ? "" : sprintf("%.1f", acpu),
		r50, rcps, r50g, rcpu
}

# The machine-readable result file (bench/compare.py reads it): every figure
# with its unit, which direction is better, and the name of its libvirtd or
# virsh counterpart in the same file, if it has one.
function jfig(name, value, unit, better, vs) {
	if (value == "")
		return
	printf "%s    \"%s\": {\"value\": %s, \"unit\": \"%s\", \"better\": \"%s\"%s}", jsep, name,
		value + 0, unit, better, vs == "" ? "" : ", \"vs\": \"" vs "\"" > json
	jsep = ",\n"
}
function jstr(s) { gsub(/[\\"]/, "", s); return "\"" s "\"" }
function json_out(    i, n, key, keys, nk, k, j, vs, a, t, v, pt, tl) {
	json = ENVIRON["results_json"]
	if (json == "")
		return
	printf "{\n  \"format\": \"hv-bench 1\",\n  \"machine\": {\"date\": %s, \"cpu\": %s, \"cpus\": %s, \"load\": %s, \"grpc\": %s, \"libvirt\": %s},\n",
		jstr(ENVIRON["bench_date"]), jstr(ENVIRON["bench_cpu"]), jstr(ENVIRON["bench_ncpu"]),
		jstr(ENVIRON["bench_load"]), jstr(ENVIRON["bench_grpc"]), jstr(ENVIRON["bench_libvirt"]) > json
	printf "  \"settings\": {\"seconds\": %s, \"runs\": %s, \"cmd_runs\": %s, \"clients\": %s},\n",
		jstr(ENVIRON["BENCH_SECS"]), jstr(ENVIRON["BENCH_RUNS"]), jstr(ENVIRON["BENCH_CMD_RUNS"]),
		jstr(ENVIRON["BENCH_CLIENTS"]) > json
	printf "  \"figures\": {\n" > json
	jsep = ""
	nk = split("agent-frame agent-unix agent-tls virt-dominfo virt-getinfo", keys, " ")
	n = split(ENVIRON["BENCH_CLIENTS"], clients, " ")
	for (j = 1; j <= nk; j++)
		for (i = 1; i <= n; i++) {
			key = keys[j]; k = key SUBSEP clients[i]
			if (!(k in runs))
				continue
			vs = key ~ /^agent-/ ? "virt-getinfo.c" clients[i] : ""
			jfig(key ".c" clients[i] ".p50", median(p50[k]), "us", "lower", vs == "" ? "" : vs ".p50")
			jfig(key ".c" clients[i] ".p99", median(p99[k]), "us", "lower", vs == "" ? "" : vs ".p99")
			jfig(key ".c" clients[i] ".calls_per_s", median(cps[k]), "calls/s", "higher",
			     vs == "" ? "" : vs ".calls_per_s")
			jfig(key ".c" clients[i] ".server_cpu", median(cpu[k]), "us/call", "lower",
			     vs == "" ? "" : vs ".server_cpu")
		}
	a = ENVIRON["agent_unix_kb"]; t = ENVIRON["agent_kb"]; v = ENVIRON["virt_kb"]
	pt = ENVIRON["agent_pretls_kb"]; tl = ENVIRON["agent_tls_kb"]
	jfig("agent.rss_peak_frame", ENVIRON["agent_frame_kb"], "KiB", "lower", "libvirtd.rss_peak")
	jfig("agent.rss_peak_unix", a, "KiB", "lower", "libvirtd.rss_peak")
	jfig("agent.rss_peak_all", t, "KiB", "lower", "")
	if (pt != "" && tl != "" && ENVIRON["max_clients"] > 0)
		jfig("agent.tls_connection", sprintf("%.1f", (tl - pt) / ENVIRON["max_clients"]), "KiB", "lower", "")
	jfig("libvirtd.rss_peak", v, "KiB", "lower", "")
	jfig("cmd.hvctl_dominfo", cmd_med["hvctl"], "ms", "lower", "cmd.virsh_dominfo")
	jfig("cmd.hvctl_grpc_dominfo", cmd_med["hvctl-grpc"], "ms", "lower", "cmd.virsh_dominfo")
	jfig("cmd.virsh_dominfo", cmd_med["virsh"], "ms", "lower", "")
	jfig("cmd.hvctl_help", cmd_med["hvctl-start"], "ms", "lower", "cmd.virsh_help")
	jfig("cmd.virsh_help", cmd_med["virsh-start"], "ms", "lower", "")
	printf "\n  }\n}\n" > json
	close(json)
}

# One aim: hv-agent's figure against libvirtd's (or a limit when vs is ""),
# met when the ratio (or the figure) is at most `most`.
function aim(what, target, a, v, unit, most,    r, met) {
	if (a == "" || (v == "" && most == "")) {
		printf "| %s | %s | not measured | | | |\n", what, target
		return
	}
	if (v == "") {
		met = a + 0 <= most + 0 ? "**yes**" : "no"
		printf "| %s | %s | %s %s | | | %s |\n", what, target, a, unit, met
		return
	}
	r = a / v
	met = r <= most + 0 ? "**yes**" : "no"
	printf "| %s | %s | %s %s | %s %s | %.2f× | %s |\n", what, target, a, unit, v, unit, r, met
}

# The aims of docs/performance.md "The bar", from this run's figures. The
# per-call aims use the frame protocol's cells (hvctl's and any local
# client's way to make a unary call); gRPC's unix-socket cells are listed
# after them for comparison.
function aims(    n, i, k, g, fk, v, pt, tl, best) {
	print ""
	print "## Aims"
	print ""
	print "| aim | target | hv-agent | libvirtd / virsh | ratio | met |"
	print "|---|---:|---:|---:|---:|---|"
	n = split(ENVIRON["BENCH_CLIENTS"], cl, " ")
	best = ("agent-frame" SUBSEP cl[1]) in runs ? "agent-frame" : "agent-unix"
	for (i = 1; i <= n; i++) {
		k = best SUBSEP cl[i]; g = "virt-getinfo" SUBSEP cl[i]
		if (i == 1)
			aim("GetVm p50, " cl[i] " client, unix socket" (best == "agent-frame" ? " (frames)" : " (gRPC)") " / one GetInfo RPC",
			    "≤ 0.6×", (k in runs) ? us(median(p50[k])) : "", (g in runs) ? us(median(p50[g])) : "", "µs", 0.6)
		aim("server CPU per call, " cl[i] " client(s)" (best == "agent-frame" ? " (frames)" : " (gRPC)") " / GetInfo",
		    "≤ 0.5×", (k in runs) ? sprintf("%.1f", median(cpu[k])) : "", (g in runs) ? sprintf("%.1f", median(cpu[g])) : "", "µs", 0.5)
	}
	for (i = 1; i <= n; i++) {
		k = "agent-unix" SUBSEP cl[i]; g = "virt-getinfo" SUBSEP cl[i]
		if (best == "agent-frame" && (k in runs) && (g in runs))
			printf "| (for comparison: gRPC on the unix socket, %s client(s)) p50 / CPU per call | | %s / %.1f µs | %s / %.1f µs | %s / %s | |\n",
				cl[i], us(median(p50[k])), median(cpu[k]), us(median(p50[g])), median(cpu[g]),
				ratio(median(p50[k]), median(p50[g])), ratio(median(cpu[k]), median(cpu[g]))
	}
	fk = ENVIRON["agent_frame_kb"] != "" ? ENVIRON["agent_frame_kb"] : ENVIRON["agent_unix_kb"]
	v = ENVIRON["virt_kb"]
	aim("peak RSS serving the unix-socket clients", "≤ 1×", fk == "" ? "" : sprintf("%.1f", fk / 1024),
	    v == "" ? "" : sprintf("%.1f", v / 1024), "MB", 1)
	pt = ENVIRON["agent_pretls_kb"]; tl = ENVIRON["agent_tls_kb"]
	aim("each mutual-TLS connection", "≤ 100 KB",
	    (pt != "" && tl != "" && ENVIRON["max_clients"] > 0) ? sprintf("%.0f", (tl - pt) / ENVIRON["max_clients"]) : "",
	    "", "KB", 100)
	aim("hvctl dominfo / virsh dominfo, whole command", "≤ 0.5×",
	    ("hvctl" in cmd_med) ? sprintf("%.2f", cmd_med["hvctl"]) : "",
	    ("virsh" in cmd_med) ? sprintf("%.2f", cmd_med["virsh"]) : "", "ms", 0.5)
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
	print "of clients: below 1× the latency is lower, above 1× the throughput is higher. The last two"
	print "columns divide by libvirtd's \"GetInfo only\" (one RPC). Server CPU is the daemon's user +"
	print "system time over the window (/proc/PID/stat) divided by the calls it answered."
	print ""
	print "| server | transport | one call | clients | p50 µs | p99 µs | calls/s | server CPU µs/call | p50 vs libvirtd | calls/s vs libvirtd | p50 vs GetInfo | CPU vs GetInfo |"
	print "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nclients; i++) {
		n = clients[i]
		row("agent-frame", n, "hv-agent", "unix socket, frame protocol", "GetVm(" vm ")")
		row("agent-unix", n, "hv-agent", "unix socket, gRPC", "GetVm(" vm ")")
		row("agent-tls", n, "hv-agent", "TCP, mutual TLS", "GetVm(" vm ")")
		row("virt-dominfo", n, "libvirtd (test driver)", "unix socket",
		    "LookupByName + GetInfo (2 RPCs)")
		row("virt-getinfo", n, "libvirtd (test driver)", "unix socket", "GetInfo only (1 RPC)")
	}
	print ""
	print "## Memory"
	print ""
	print "Peak resident set (VmHWM) of each daemon. libvirtd's is after all of its runs (unix"
	print "clients only); hv-agent's after its frame-protocol cells of the first round, then after its"
	print "gRPC unix-socket cells of that round, then after everything, mutual-TLS connections included."
	print ""
	print "| daemon | after | peak RSS | vs libvirtd |"
	print "|---|---|---:|---:|"
	a = ENVIRON["agent_unix_kb"]; t = ENVIRON["agent_kb"]; v = ENVIRON["virt_kb"]
	fk = ENVIRON["agent_frame_kb"]
	if (fk != "")
		printf "| hv-agent | unix-socket clients, frame protocol | %s | %s |\n", mb(fk), ratio(fk, v)
	printf "| hv-agent | unix-socket clients, gRPC too | %s | %s |\n", mb(a), ratio(a, v)
	if (ENVIRON["tls_note"] == "")
		printf "| hv-agent | all runs, mutual TLS included | %s | %s |\n", mb(t), ratio(t, v)
	printf "| libvirtd (test driver) | all runs | %s | 1.00× |\n", mb(v)
	pt = ENVIRON["agent_pretls_kb"]; tl = ENVIRON["agent_tls_kb"]
	if (pt != "" && tl != "" && ENVIRON["max_clients"] > 0) {
		print ""
		printf "Each mutual-TLS connection: %.0f KB (peak after the %s-client TLS cell minus the peak\n",
			(tl - pt) / ENVIRON["max_clients"], ENVIRON["max_clients"]
		print "before the first TLS cell, divided by the number of connections)."
	}
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
	if ("hvctl-grpc" in cmd_med)
		printf "| hvctl --grpc dominfo %s | %.2f | %.2f | %.2f | %s |\n", vm, cmd_med["hvctl-grpc"],
			cmd_min["hvctl-grpc"], cmd_max["hvctl-grpc"], ratio(cmd_med["hvctl-grpc"], cmd_med["virsh"])
	if ("virsh" in cmd_med)
		printf "| virsh dominfo %s | %.2f | %.2f | %.2f | 1.00× |\n", dom, cmd_med["virsh"],
			cmd_min["virsh"], cmd_max["virsh"]
	if ("hvctl-start" in cmd_med)
		printf "| hvctl --help (start-up only) | %.2f | %.2f | %.2f | %s |\n", cmd_med["hvctl-start"],
			cmd_min["hvctl-start"], cmd_max["hvctl-start"], ratio(cmd_med["hvctl-start"], cmd_med["virsh-start"])
	if ("virsh-start" in cmd_med)
		printf "| virsh --help (start-up only) | %.2f | %.2f | %.2f | 1.00× |\n", cmd_med["virsh-start"],
			cmd_min["virsh-start"], cmd_max["virsh-start"]
	aims()
	if (ENVIRON["tls_note"] != "" || ENVIRON["frame_note"] != "" || ENVIRON["cmd_note"] != "") {
		print ""
		print "## Not measured"
		print ""
		if (ENVIRON["frame_note"] != "")
			print "- The local frame protocol: " ENVIRON["frame_note"] "."
		if (ENVIRON["tls_note"] != "")
			print "- TCP with mutual TLS: " ENVIRON["tls_note"] "."
		if (ENVIRON["cmd_note"] != "")
			print "- hvctl dominfo: " ENVIRON["cmd_note"] "."
	}
	json_out()
}
