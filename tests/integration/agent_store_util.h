/*
 * agent_store_util.h - what the store, reconciliation and crash tests of
 * hv-agent share: test VMs that fit beside hv-core's boot VM (rtos-demo on
 * CPU 1, 0x49000000), with the shutdown-ack guest staged directly in their
 * image-store slot through the shared guest RAM (as a boot loader or the OTA
 * engine would), so that START boots them without LOAD_IMAGE; their
 * configuration compiled with dtc; and a direct look at hv-core's slots.
 */
#ifndef AGENT_STORE_UTIL_H
#define AGENT_STORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hvqemu.h"

struct st_vm {
	const char *name;
	const char *uuid;
	unsigned cpu;      /* 2 or 3: CPU 0 is hv-core's, CPU 1 rtos-demo's */
	uint64_t mem_pa;   /* 16 MiB */
	uint64_t store_pa; /* its image-store slot (0x42000000 is rtos-demo's) */
	uint64_t image_size;
	uint8_t sha256[32];
};

/* Stages the guest in v's slot (fills size and digest) and writes
 * DIR/NAME[-vVARIANT].dtb; variant changes the restart budget so that two
 * variants are different configurations. 0, or -1 with q->err set. */
int st_prepare(struct hvq *q, struct st_vm *v, const char *dir, unsigned variant, char *dtb,
	       size_t dtb_len);
/* Stages the image again (hv-core may reuse a freed slot's bytes). */
int st_restage(struct hvq *q, struct st_vm *v);

/* Number of defined slots named name; *id and *state of the last one. */
int st_count(struct hvq *q, const char *name, int *id, uint32_t *state);

/* Reads a whole binary file (malloc'd); NULL if missing. */
void *st_read_file(const char *path, size_t *len);

#endif
