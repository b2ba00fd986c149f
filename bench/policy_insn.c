/*
 * policy_insn.c - a QEMU TCG plugin for hv-policy-bench: counts the instructions
 * hv-core executes for each management command, and the part of them spent in
 * the safety policy's gate (docs/mgmt-abi.md MGMT-400), by address:
 *
 *   cmd=ADDR        entry of mgmt_cmd_execute: a command begins on this vCPU
 *   end=ADDR        entry of mgmt_msg_fit: the command's work is done
 *   gate=ADDR       entry of mgmt_be_policy_gate: the check begins
 *   back=LO-HI      mgmt_cmd_execute's code: the first block there after the
 *                   gate began is the return from the check
 *   out=FILE        one line per command: "cmd_insn=N gate_insn=M"
 *
 * Run with -icount shift=0,sleep=off so that every vCPU runs in one thread
 * and the counts repeat exactly. Everything the vCPU executes between the
 * markers counts, callees included (an interrupt taken meanwhile too).
 *
 * Debian's QEMU ships no qemu-plugin.h: the declarations of the stable plugin
 * API it uses come from bench/qemu_plugin_api.h, shared by every plugin here.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv);

static uint64_t a_cmd, a_end, a_gate, back_lo, back_hi;
static FILE *out;
static int active_vcpu = -1; /* the vCPU running a command, or -1 */
static bool in_gate;
static uint64_t cmd_insn, gate_insn;

/* udata of a block: its instruction count, and what its address marks */
enum mark {
	M_NONE = 0,
	M_CMD = 1,
	M_END = 2,
	M_GATE = 4,
	M_BACK = 8
};
#define UDATA(n, m) ((void *)(uintptr_t)(((uint64_t)(n) << 4) | (m)))

static void tb_exec(unsigned int vcpu, void *udata)
{
	uint64_t u = (uint64_t)(uintptr_t)udata, n = u >> 4;
	unsigned m = (unsigned)(u & 0xF);

	if (m & M_CMD) {
		active_vcpu = (int)vcpu;
		in_gate = false;
		cmd_insn = gate_insn = 0;
	}
	if (active_vcpu != (int)vcpu)
		return;
	if (m & M_END) {
		fprintf(out, "cmd_insn=%" PRIu64 " gate_insn=%" PRIu64 "\n", cmd_insn, gate_insn);
		fflush(out);
		active_vcpu = -1;
		return;
	}
	if (m & M_GATE)
		in_gate = true;
	else if (in_gate && (m & M_BACK))
		in_gate = false;
	cmd_insn += n;
	if (in_gate)
		gate_insn += n;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb);
	unsigned m = M_NONE;

	(void)id;
	if (pc == a_cmd)
		m |= M_CMD;
	if (pc == a_end)
		m |= M_END;
	if (pc == a_gate)
		m |= M_GATE;
	if (pc >= back_lo && pc < back_hi && pc != a_cmd)
		m |= M_BACK;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     UDATA(qemu_plugin_tb_n_insns(tb), m));
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (out)
		fclose(out);
}

static int num(const char *arg, const char *key, uint64_t *v)
{
	size_t k = strlen(key);
	char *end;

	if (strncmp(arg, key, k) != 0)
		return 0;
	*v = strtoull(arg + k, &end, 0);
	return end != arg + k && *end == '\0' ? 1 : -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	if (!info->system_emulation) {
		fprintf(stderr, "policy_insn: needs system emulation\n");
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int r = num(a, "cmd=", &a_cmd);
		if (!r)
			r = num(a, "end=", &a_end);
		if (!r)
			r = num(a, "gate=", &a_gate);
		if (!r && strncmp(a, "back=", 5) == 0) {
			char *end;
			back_lo = strtoull(a + 5, &end, 0);
			r = *end == '-' ? 1 : -1;
			if (r == 1) {
				back_hi = strtoull(end + 1, &end, 0);
				r = *end == '\0' && back_hi > back_lo ? 1 : -1;
			}
		}
		if (!r && strncmp(a, "out=", 4) == 0) {
			out = fopen(a + 4, "w");
			r = out ? 1 : -1;
		}
		if (r != 1) {
			fprintf(stderr,
				"policy_insn: bad argument '%s' (cmd=, end=, gate=ADDR, back=LO-HI, out=FILE)\n",
				a);
			return -1;
		}
	}
	if (!a_cmd || !a_end || !a_gate || !back_hi || !out) {
		fprintf(stderr, "policy_insn: cmd=, end=, gate=, back= and out= are all needed\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
