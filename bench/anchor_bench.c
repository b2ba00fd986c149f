/*
 * anchor_bench.c - hv-anchor-bench: what handing the audit head's sequence to
 * hv-core costs (docs/performance.md "The audit anchor"; docs/mgmt-abi.md
 * MGMT-630/631).
 *
 * Part 1, in hv-core instructions under -icount (shift=0, sleep=off), counted
 * by the plugin bench/policy_insn.c with its markers put on other symbols:
 * from mgmt_cmd_execute to mgmt_msg_fit per command, and of them the part in
 * nv_commit (the flash write: erase, program, read back), for AUDIT_SEQ_SET
 * with a new sequence, AUDIT_SEQ_SET with the stored one (no write) and
 * AUDIT_SEQ_GET.
 *
 * Part 2, in wall time: hv-agent against hv-core (no -icount) with the anchor
 * (the default) and with --no-audit-anchor, RUNS state-changing RPCs each
 * (`hvctl suspend` and `hvctl resume` of rtos-demo, alternately, each a whole
 * hvctl run), once back to back and once spaced by 1.2 s, so that every RPC's
 * audit rows are a burst of their own and hv-core writes its flash for each
 * (the next RPC's command may queue behind that write). Median and largest.
 *
 *   hv-anchor-bench PLUGIN.so [RUNS]   (HV_CORE_OUT: the hv-core build,
 *                                       HV_BIN_DIR: hv-agent and hvctl)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvqemu.h"
#include "insn_out.h"

static struct hvq q;
static struct agent_proc agent;
static char out_path[300];

static int die(const char *what)
{
	fprintf(stderr, "hv-anchor-bench: %s\n", what);
	agent_stop(&agent);
	hvq_stop(&q);
	exit(1);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void one(uint32_t c, uint64_t arg, uint64_t *cmd, uint64_t *part)
{
	uint64_t args[6] = { arg };
	struct hvq_reply r;
	size_t before = insn_lines(out_path);

	if (hvq_command(&q, c, 0, args, &r) != 0)
		die(q.err);
	if (r.status != HVM_OK) {
		fprintf(stderr, "hv-anchor-bench: command %u (%" PRIu64 "): status %u: %s\n", c,
			arg, r.status, r.msg);
		die("unexpected status");
	}
	for (int i = 0; i < 500 && insn_lines(out_path) <= before; i++)
		nap_ms(10);
	if (insn_line_at(out_path, before, cmd, part) != 0)
		die("the plugin wrote no count for the command");
}

static void row(const char *what, uint32_t c, uint64_t first_arg, uint64_t step, int runs)
{
	uint64_t mn = UINT64_MAX, mx = 0, pmn = UINT64_MAX, pmx = 0, n, p;
	for (int i = 0; i < runs; i++) {
		one(c, first_arg + step * (uint64_t)i, &n, &p);
		mn = n < mn ? n : mn;
		mx = n > mx ? n : mx;
		pmn = p < pmn ? p : pmn;
		pmx = p > pmx ? p : pmx;
	}
	printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", what, mn, mx,
	       pmn, pmx);
}

static void part1(const char *plugin, const char *core, int runs)
{
	uint64_t a_cmd, s_cmd, a_end, s_end, a_nv, s_nv, a_set, s_set;
	char elf[300], plug[900], dir[] = "/tmp/hv-anchor-bench-XXXXXX";

	snprintf(elf, sizeof elf, "%s/hvcore.elf", core);
	if (insn_symbol(elf, "mgmt_cmd_execute", &a_cmd, &s_cmd) != 0 ||
	    (insn_symbol(elf, "mgmt_msg_fit.part.0", &a_end, &s_end) != 0 &&
	     insn_symbol(elf, "mgmt_msg_fit", &a_end, &s_end) != 0) ||
	    insn_symbol(elf, "nv_commit", &a_nv, &s_nv) != 0 ||
	    insn_symbol(elf, "ota_audit_seq_set", &a_set, &s_set) != 0)
		die("symbols not found in hvcore.elf");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(out_path, sizeof out_path, "%s/counts.txt", dir);
	/* "gate" is nv_commit here; back in ota_audit_seq_set ends it */
	snprintf(plug, sizeof plug,
		 "%s,cmd=0x%" PRIx64 ",end=0x%" PRIx64 ",gate=0x%" PRIx64 ",back=0x%" PRIx64
		 "-0x%" PRIx64 ",out=%s",
		 plugin, a_cmd, a_end, a_nv, a_set, a_set + s_set, out_path);
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.icount = 1;
	o.core_dir = core;
	o.ready_timeout_s = 300;
	o.extra[0] = "--qemu-arg";
	o.extra[1] = "-plugin";
	o.extra[2] = "--qemu-arg";
	o.extra[3] = plug;
	if (hvq_start(&q, &o) != 0)
		die(q.err);
	printf("| command | instructions min | max | of them in nv_commit min | max |\n");
	printf("|---|---:|---:|---:|---:|\n");
	row("AUDIT_SEQ_SET, a new sequence (one flash write)", HVM_CMD_AUDIT_SEQ_SET, 1000, 1, runs);
	row("AUDIT_SEQ_SET, the stored sequence (no write)", HVM_CMD_AUDIT_SEQ_SET,
	    1000 + (uint64_t)runs - 1, 0, runs);
	row("AUDIT_SEQ_GET", HVM_CMD_AUDIT_SEQ_GET, 0, 0, runs);
	hvq_stop(&q);
	unlink(out_path);
	rmdir(dir);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* runs hvctl suspend/resume of rtos-demo, spaced by gap_ms; median and max ms */
static void rpcs(const char *uri, int runs, long gap_ms, double *med, double *max)
{
	uint64_t *t = calloc((size_t)runs, sizeof *t);
	if (!t)
		die("out of memory");
	for (int i = 0; i < runs; i++) {
		char *o = NULL, *e = NULL;
		const char *args[] = { "--connect", uri, i % 2 ? "resume" : "suspend", "rtos-demo",
				       NULL };
		if (gap_ms)
			nap_ms(gap_ms);
		uint64_t t0 = now_ns();
		int rc = run_hvctl(args, &o, &e);
		t[i] = now_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "hv-anchor-bench: hvctl %s: %s%s\n", args[2], o ? o : "",
				e ? e : "");
			free(o);
			free(e);
			free(t);
			die("a state-changing RPC failed");
		}
		free(o);
		free(e);
	}
	qsort(t, (size_t)runs, sizeof *t, cmp_u64);
	*med = (double)t[runs / 2] / 1e6;
	*max = (double)t[runs - 1] / 1e6;
	free(t);
}

static void part2(const char *core, int runs)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	char uri[256];
	o.guests[0] = "rtos-demo";
	o.core_dir = core;
	if (hvq_start(&q, &o) != 0)
		die(q.err);
	printf("\n| hv-agent | RPCs spaced by | median ms | largest ms |\n");
	printf("|---|---:|---:|---:|\n");
	static const char *const with[] = { NULL };
	static const char *const without[] = { "--no-audit-anchor", NULL };
	for (int a = 0; a < 2; a++) {
		memset(&agent, 0, sizeof agent);
		if (agent_start(&agent, q.dir, a ? without : with) != 0)
			die(agent.err);
		snprintf(uri, sizeof uri, "unix://%s", agent.sock);
		for (int g = 0; g < 2; g++) {
			double med, max;
			rpcs(uri, runs, g ? 1200 : 0, &med, &max);
			printf("| %s | %s | %.1f | %.1f |\n",
			       a ? "--no-audit-anchor" : "anchored (default)", g ? "1.2 s" : "0",
			       med, max);
		}
		if (agent_stop(&agent) != 0)
			die("hv-agent did not stop cleanly");
	}
	hvq_stop(&q);
}

int main(int argc, char **argv)
{
	const char *core = getenv("HV_CORE_OUT");
	int runs = argc > 2 ? atoi(argv[2]) : 20;

	if (argc < 2 || runs < 2) {
		fprintf(stderr,
			"usage: hv-anchor-bench PLUGIN.so [RUNS>=2]  (HV_CORE_OUT, HV_BIN_DIR)\n");
		return 2;
	}
	if (!core)
		core = HV_CORE_OUT;
	part1(argv[1], core, runs);
	part2(core, runs);
	return 0;
}
