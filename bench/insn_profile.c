/*
 * insn_profile.c - a QEMU TCG plugin that counts how often every instruction
 * in an address range is executed (all vCPUs), for profiling hv-core's trap
 * path under -icount (bench/trap_profile.sh maps the addresses to functions).
 * Run with -icount shift=0,sleep=off so that the vCPUs run in one thread and
 * the counts are exact and repeatable.
 *
 * Arguments: lo=ADDR hi=ADDR  the range counted (default 0x40200000..0x41000000,
 *                             where hv-core runs on QEMU virt)
 * Output (QEMU log, -d plugin -D FILE): one line per executed instruction,
 *   insn_profile: ADDR COUNT
 *
 * The declarations of QEMU's plugin API it needs are in qemu_plugin_api.h.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_args.h"
#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* One translated block: its executions, counted inline by QEMU. Blocks live
 * in chunks that never move (QEMU keeps a pointer to each counter). A block
 * is straight-line code of 4-byte instructions, so each of its instructions
 * runs as often as the block (an exception in the middle of a block, rare on
 * this path, is not seen). */
struct block {
	uint64_t vaddr, execs;
	uint32_t n;
};
#define CHUNK 4096
struct chunk {
	struct chunk *next;
	unsigned used;
	struct block b[CHUNK];
};

static struct chunk *chunks;
static uint64_t lo = PLUGIN_CORE_LO, hi = PLUGIN_CORE_HI;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	uint64_t va = qemu_plugin_tb_vaddr(tb);
	if (va < lo || va >= hi)
		return;
	if (!chunks || chunks->used == CHUNK) {
		struct chunk *c = calloc(1, sizeof *c);
		if (!c)
			return; /* not counted: the profile says less, never wrong figures */
		c->next = chunks;
		chunks = c;
	}
	struct block *b = &chunks->b[chunks->used++];
	b->vaddr = va;
	b->n = (uint32_t)qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	size_t words = (size_t)((hi - lo) / 4);
	uint64_t *per = calloc(words, sizeof *per);
	if (!per) {
		qemu_plugin_outs("insn_profile: out of memory\n");
		return;
	}
	for (struct chunk *c = chunks; c; c = c->next)
		for (unsigned i = 0; i < c->used; i++)
			for (uint32_t k = 0; k < c->b[i].n; k++) {
				uint64_t a = c->b[i].vaddr + 4u * k;
				if (a < hi)
					per[(a - lo) / 4] += c->b[i].execs;
			}
	char line[80];
	for (size_t w = 0; w < words; w++)
		if (per[w]) {
			snprintf(line, sizeof line, "insn_profile: 0x%" PRIx64 " %" PRIu64 "\n",
				 lo + 4u * w, per[w]);
			qemu_plugin_outs(line);
		}
	free(per);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	if (!info->system_emulation) {
		fprintf(stderr, "insn_profile: needs system emulation\n");
		return -1;
	}
	if (plugin_range_args("insn_profile", argc, argv, &lo, &hi) != 0)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
