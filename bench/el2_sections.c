/*
 * el2_sections.c - a QEMU TCG plugin that measures, per vCPU, the longest
 * run of instructions executed in hv-core's image without a return to a
 * guest in between: an exception entry's whole stay at EL2 (exit handling,
 * an IPI or a physical interrupt, up to the ERET). On a CPU that runs a
 * VM's vCPU, that is the longest time the VM can be kept from taking an
 * interrupt by hv-core on its own CPU, counted in that CPU's own
 * instructions whatever the other CPUs do (docs/performance.md, REQ-SAF-17,
 * the term E of the bound). A halted CPU (WFI) executes nothing, so idle
 * time does not count.
 *
 * Counting is per translated block (a block is straight-line code; hv-core's
 * blocks end at the ERET), so it works with QEMU's parallel vCPU threads:
 * every vCPU only touches its own record.
 *
 * Arguments: lo=ADDR hi=ADDR  hv-core's range (default 0x40200000..0x41000000,
 *                             where hv-core runs on QEMU virt)
 * Output (QEMU log, -d plugin -D FILE), at exit, for each vCPU that ran:
 *   el2_sections: cpu N sections S total T guest G open O from ADDR
 *   el2_sections: cpu N start ADDR count C longest L last LAST insns I  (per start)
 * T: all instructions in hv-core on that vCPU, G: all outside it; then per
 * address a section started at (an exception vector, or hv-core's entry):
 * how many, the longest, the address of that one's last block and all their
 * instructions. O: the
 * instructions of a section still open when QEMU ended (a CPU idle in
 * hv-core, or one that never runs a guest), not counted as a section.
 *
 * The declarations of QEMU's plugin API it needs are in qemu_plugin_api.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_args.h"
#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define MAX_CPUS 64

/* What the exec callback needs of one translated block. Blocks live in
 * chunks that never move (QEMU keeps the pointer). */
struct block {
	uint64_t vaddr;
	uint32_t n;
	bool in_core;
};
#define CHUNK 4096
struct chunk {
	struct chunk *next;
	unsigned used;
	struct block b[CHUNK];
};

/* Sections by the address they start at (the exception vector taken, or
 * hv-core's own entry): the longest, its last block and how many. */
#define MAX_STARTS 16
struct start {
	uint64_t addr, longest, last, count, insns;
};

struct cpu {
	uint64_t cur, cur_start, cur_last; /* the section running now (cur 0: in a guest) */
	uint64_t sections, core, guest;
	struct start starts[MAX_STARTS];
	unsigned nstarts;
} __attribute__((aligned(64))); /* its own cache lines: vCPUs run in parallel */

static struct chunk *chunks; /* under chunk_lock */
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cpu cpus[MAX_CPUS];
static uint64_t lo = PLUGIN_CORE_LO, hi = PLUGIN_CORE_HI;

static void end_section(struct cpu *c)
{
	unsigned i = 0;
	while (i < c->nstarts && c->starts[i].addr != c->cur_start)
		i++;
	if (i == c->nstarts) {
		if (i == MAX_STARTS)
			i = MAX_STARTS - 1; /* the last slot collects the rest */
		else
			c->starts[c->nstarts++].addr = c->cur_start;
	}
	struct start *s = &c->starts[i];
	if (c->cur > s->longest) {
		s->longest = c->cur;
		s->last = c->cur_last;
	}
	s->count++;
	s->insns += c->cur;
	c->sections++;
	c->cur = 0;
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	const struct block *b = udata;
	if (vcpu >= MAX_CPUS)
		return;
	struct cpu *c = &cpus[vcpu];
	if (b->in_core) {
		if (c->cur == 0)
			c->cur_start = b->vaddr;
		c->cur_last = b->vaddr;
		c->cur += b->n;
		c->core += b->n;
	} else {
		if (c->cur)
			end_section(c);
		c->guest += b->n;
	}
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	/* vCPU threads translate in parallel. */
	pthread_mutex_lock(&chunk_lock);
	if (!chunks || chunks->used == CHUNK) {
		struct chunk *c = calloc(1, sizeof *c);
		if (!c) {
			pthread_mutex_unlock(&chunk_lock);
			return; /* not counted: the figure says less, never a wrong one */
		}
		c->next = chunks;
		chunks = c;
	}
	struct block *b = &chunks->b[chunks->used++];
	pthread_mutex_unlock(&chunk_lock);
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->n = (uint32_t)qemu_plugin_tb_n_insns(tb);
	b->in_core = b->vaddr >= lo && b->vaddr < hi;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	char line[200];
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct cpu *c = &cpus[i];
		if (!c->core && !c->guest)
			continue;
		/* A section still open at exit is not a section (the CPU may be
		 * idle in hv-core, waiting for work): reported apart. */
		snprintf(line, sizeof line,
			 "el2_sections: cpu %u sections %" PRIu64 " total %" PRIu64
			 " guest %" PRIu64 " open %" PRIu64 " from 0x%" PRIx64 "\n",
			 i, c->sections, c->core, c->guest, c->cur, c->cur ? c->cur_start : 0);
		qemu_plugin_outs(line);
		for (unsigned k = 0; k < c->nstarts; k++) {
			const struct start *s = &c->starts[k];
			snprintf(line, sizeof line,
				 "el2_sections: cpu %u start 0x%" PRIx64 " count %" PRIu64
				 " longest %" PRIu64 " last 0x%" PRIx64 " insns %" PRIu64 "\n",
				 i, s->addr, s->count, s->longest, s->last, s->insns);
			qemu_plugin_outs(line);
		}
	}
	while (chunks) {
		struct chunk *n = chunks->next;
		free(chunks);
		chunks = n;
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	if (!info->system_emulation) {
		fprintf(stderr, "el2_sections: needs system emulation\n");
		return -1;
	}
	if (plugin_range_args("el2_sections", argc, argv, &lo, &hi) != 0)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
