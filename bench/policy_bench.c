/*
 * policy_bench.c - hv-policy-bench: what the safety policy's check costs hv-core
 * per management command (docs/performance.md "The safety policy's check"),
 * in instructions under -icount, counted by the plugin bench/policy_insn.c.
 *
 * Boots hv-core under QEMU (-icount shift=0,sleep=off, the plugin loaded) with
 * rtos-demo (ASIL-B), defines and starts a QM VM, and sends each command RUNS
 * times through the register page: a command the policy does not gate
 * (GET_STATS), the dry run (CHECK_POLICY), SUSPEND and RESUME allowed (parked,
 * and of the QM VM while driving) and SUSPEND denied (ASIL-B while driving).
 * For each it prints the instructions hv-core executed for the command and,
 * of them, in the policy gate (MGMT-400), the smallest and the largest of the
 * runs (equal when the counts repeat exactly, as under -icount they should).
 *
 *   hv-policy-bench PLUGIN.so [RUNS]      (HV_CORE_OUT: the hv-core build)
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hvcore_mgmt_util.h"
#include "hvqemu.h"
#include "insn_out.h"

static struct hvq q;
static char out_path[300];

static int die(const char *what)
{
	fprintf(stderr, "hv-policy-bench: %s\n", what);
	hvq_stop(&q);
	exit(1);
}

static void nap(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* One command; its counts. */
static void one(uint32_t c, int vm, uint64_t arg, uint32_t want, uint64_t *cmd, uint64_t *gate)
{
	uint64_t args[6] = { arg };
	struct hvq_reply r;
	size_t before = insn_lines(out_path);

	if (hvq_command(&q, c, (uint32_t)vm, args, &r) != 0)
		die(q.err);
	if (r.status != want) {
		fprintf(stderr, "hv-policy-bench: command %u on %d: status %u (want %u): %s\n", c,
			vm, r.status, want, r.msg);
		die("unexpected status");
	}
	for (int i = 0; i < 500 && insn_lines(out_path) <= before; i++)
		nap();
	if (insn_line_at(out_path, before, cmd, gate) != 0)
		die("the plugin wrote no count for the command");
}

struct pair {
	uint32_t cmd;
	uint32_t status;
	uint64_t arg;
};

/* RUNS rounds of a and then b (b.cmd 0: a alone); prints a's row (and b's). */
static void measure(const char *what_a, struct pair a, const char *what_b, struct pair b, int vm,
		    int runs)
{
	uint64_t amin = UINT64_MAX, amax = 0, ag = 0, bmin = UINT64_MAX, bmax = 0, bg = 0, c, g;

	for (int i = 0; i < runs; i++) {
		one(a.cmd, vm, a.arg, a.status, &c, &g);
		amin = c < amin ? c : amin;
		amax = c > amax ? c : amax;
		ag = g;
		if (b.cmd) {
			one(b.cmd, vm, b.arg, b.status, &c, &g);
			bmin = c < bmin ? c : bmin;
			bmax = c > bmax ? c : bmax;
			bg = g;
		}
	}
	printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", what_a, amin, amax, ag);
	if (b.cmd)
		printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n", what_b, bmin, bmax, bg);
}

int main(int argc, char **argv)
{
	uint64_t a_cmd, s_cmd, a_end, s_end, a_gate, s_gate;
	char elf[300], plug[900], dir[] = "/tmp/hv-policy-bench-XXXXXX";
	const char *core = getenv("HV_CORE_OUT");
	int runs = argc > 2 ? atoi(argv[2]) : 20;

	if (argc < 2 || runs < 1) {
		fprintf(stderr, "usage: hv-policy-bench PLUGIN.so [RUNS]  (HV_CORE_OUT=DIR)\n");
		return 2;
	}
	snprintf(elf, sizeof elf, "%s/hvcore.elf", core ? core : HV_CORE_OUT);
	if (insn_symbol(elf, "mgmt_cmd_execute", &a_cmd, &s_cmd) != 0 ||
	    /* the compiler may tail-call the body of mgmt_msg_fit: its entry */
	    (insn_symbol(elf, "mgmt_msg_fit.part.0", &a_end, &s_end) != 0 &&
	     insn_symbol(elf, "mgmt_msg_fit", &a_end, &s_end) != 0) ||
	    insn_symbol(elf, "mgmt_be_policy_gate", &a_gate, &s_gate) != 0) {
		fprintf(stderr, "hv-policy-bench: symbols not found in %s\n", elf);
		return 1;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(out_path, sizeof out_path, "%s/counts.txt", dir);
	snprintf(plug, sizeof plug,
		 "%s,cmd=0x%" PRIx64 ",end=0x%" PRIx64 ",gate=0x%" PRIx64 ",back=0x%" PRIx64
		 "-0x%" PRIx64 ",out=%s",
		 argv[1], a_cmd, a_end, a_gate, a_cmd, a_cmd + s_cmd, out_path);

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
	int rtos = hvq_find_vm(&q, "rtos-demo");
	struct mu_vm ivi = { .name = "ivi", .cpu = 2, .mem_pa = 0x50000000 };
	int qm = mu_define_guest(&q, &ivi, "shutdown-ack", 0x04000000ull);
	if (rtos < 0 || qm < 0)
		die(qm < 0 ? q.err : "no rtos-demo");
	uint64_t c, g;
	one(HVM_CMD_START, qm, 0, HVM_OK, &c, &g);
	if (mu_wait_heartbeat(&q, qm, 0, 120) != 0)
		die(q.err);

	printf("| command (VM, vehicle state) | instructions min | max | of them in the gate |\n");
	printf("|---|---:|---:|---:|\n");
	measure("GET_STATS (rtos-demo; not an operation of the policy)",
		(struct pair){ HVM_CMD_GET_STATS, HVM_OK, 0 }, NULL, (struct pair){ 0, 0, 0 }, rtos,
		runs);
	measure("CHECK_POLICY of SUSPEND (rtos-demo ASIL-B, parked: allowed)",
		(struct pair){ HVM_CMD_CHECK_POLICY, HVM_OK, HVM_CMD_SUSPEND }, NULL,
		(struct pair){ 0, 0, 0 }, rtos, runs);
	measure("SUSPEND (rtos-demo ASIL-B, parked: allowed)",
		(struct pair){ HVM_CMD_SUSPEND, HVM_OK, 0 },
		"RESUME (rtos-demo ASIL-B, parked: allowed)",
		(struct pair){ HVM_CMD_RESUME, HVM_OK, 0 }, rtos, runs);
	one(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_DRIVING, HVM_OK, &c, &g);
	measure("SUSPEND (rtos-demo ASIL-B, driving: denied, E_POLICY)",
		(struct pair){ HVM_CMD_SUSPEND, HVM_E_POLICY, 0 }, NULL, (struct pair){ 0, 0, 0 },
		rtos, runs);
	measure("CHECK_POLICY of SUSPEND (rtos-demo ASIL-B, driving: denied)",
		(struct pair){ HVM_CMD_CHECK_POLICY, HVM_E_POLICY, HVM_CMD_SUSPEND }, NULL,
		(struct pair){ 0, 0, 0 }, rtos, runs);
	measure("SUSPEND (ivi QM, driving: allowed)", (struct pair){ HVM_CMD_SUSPEND, HVM_OK, 0 },
		"RESUME (ivi QM, driving: allowed)", (struct pair){ HVM_CMD_RESUME, HVM_OK, 0 }, qm,
		runs);
	hvq_stop(&q);
	unlink(out_path);
	rmdir(dir);
	return 0;
}
