/*
 * hvlink_priv.h - what the hvlink source files share and nobody else sees: the
 * link object, the validated layout of the mapped region, and the guard that
 * keeps a mapping alive while a thread reads it.
 */
#ifndef HVLINK_PRIV_H
#define HVLINK_PRIV_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "deadline.h"
#include "hvlink.h"
#include "opqueue.h"

/* The region layout as published in the register page (MGMT-004), checked
 * against the mapped size once, when the link comes up. */
struct hvlink_layout {
	uint32_t max_vms;
	uint32_t off_events, event_count;
	uint32_t off_slots, slot_size;
	uint32_t off_faults, fault_size;
	uint32_t off_consoles, console_size;
	uint32_t off_data, data_size;
};

struct hvlink {
	char *ram_file;
	uint64_t ram_base, mgmt_base;
	unsigned cmd_timeout_ms;

	/* Held shared by every reader of the mapping, exclusive to (re)map it. */
	pthread_rwlock_t map_lock;
	volatile uint8_t *base; /* MAP_FAILED-free: NULL when unmapped     */
	int fd;
	dev_t dev;
	ino_t ino;
	struct hvlink_layout lay;

	pthread_mutex_t err_lock;
	char last_err[HV_STATUS_MSG_LEN];

	/* MGMT-111: one outstanding command, a bounded FIFO of waiting ones. */
	struct hv_opqueue cmdq;

	struct hvlink_counters cnt; /* updated with __atomic adds */
};

static inline volatile struct hvm_regs *link_regs(struct hvlink *l)
{
	return (volatile struct hvm_regs *)l->base;
}

/* Take the mapping for reading: makes sure it is up and valid, then holds the
 * read lock until link_put(). On failure nothing is held. */
int link_get(struct hvlink *l, struct hv_status *st);
void link_put(struct hvlink *l);

/* Monotonic clock in nanoseconds. */

/* Back off while polling: spins briefly, then sleeps up to 1 ms. */
void link_backoff(unsigned *round);

#endif /* HVLINK_PRIV_H */
