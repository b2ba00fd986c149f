/*
 * linux_boot_insn.c - a QEMU TCG plugin for bench/linux_boot.sh: counts the guest
 * instructions executed (all vCPUs, all exception levels) until the first
 * instruction at a user-space address, i.e. until the kernel has started /init,
 * and in total until QEMU exits. Run it with -icount shift=0,sleep=off so that
 * the vCPUs run in one thread (the counter is then exact) and the count is
 * repeatable.
 *
 * Debian's QEMU is built with plugin support but ships neither the plugins nor
 * qemu-plugin.h: qemu_plugin_api.h declares what this file needs.
 *
 * Arguments: below=ADDR  a translation block starting below ADDR counts as user
 *                        space (default 0x40000000: the static busybox runs at
 *                        0x400000, while RAM and so every identity-mapped kernel
 *                        or hypervisor address is at 0x40000000 and above).
 * Output (QEMU log, -d plugin -D FILE):
 *   linux_boot_insn: first_user_insn=N
 *   linux_boot_insn: total_insn=N
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

static uint64_t insn_count; /* executed instructions, all vCPUs */
static uint64_t user_below = 0x40000000u;
static bool user_seen;

static void out(const char *what, uint64_t n)
{
	char line[96];

	snprintf(line, sizeof line, "linux_boot_insn: %s=%" PRIu64 "\n", what, n);
	qemu_plugin_outs(line);
}

/* Runs before the block's own instructions are counted: the count printed is the
 * number of instructions executed before the first user-space one. */
static void first_user_tb(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	(void)udata;
	if (!user_seen) {
		user_seen = true;
		out("first_user_insn", insn_count);
	}
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	if (!user_seen && qemu_plugin_tb_vaddr(tb) < user_below)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, first_user_tb, QEMU_PLUGIN_CB_NO_REGS, NULL);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count,
						 qemu_plugin_tb_n_insns(tb));
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	out("total_insn", insn_count);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	if (!info->system_emulation) {
		fprintf(stderr, "linux_boot_insn: needs system emulation\n");
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		char *end;

		if (strncmp(argv[i], "below=", 6) != 0) {
			fprintf(stderr,
				"linux_boot_insn: unknown argument '%s' (expected below=ADDR)\n",
				argv[i]);
			return -1;
		}
		user_below = strtoull(argv[i] + 6, &end, 0);
		if (end == argv[i] + 6 || *end != '\0') {
			fprintf(stderr, "linux_boot_insn: below= wants a number, got '%s'\n",
				argv[i] + 6);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
