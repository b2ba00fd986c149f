/*
 * opqueue.h - one operation at a time, a bounded FIFO of waiting ones.
 *
 * For a resource that serves one operation at a time (hv-core's register
 * interface, MGMT-111; a sequence of store writes and commands that must not
 * interleave). Waiting is bounded three ways, so a caller never hangs behind
 * a slow operation: a full queue refuses at once (RESOURCE_EXHAUSTED), a
 * waiter whose deadline passes leaves it (DEADLINE_EXCEEDED), and so does
 * one whose server starts to stop (UNAVAILABLE). The deadline and the
 * stopping flag come from the thread's call scope (callscope.h) unless the
 * caller passes a deadline. Either way the operation was not started.
 */
#ifndef HV_OPQUEUE_H
#define HV_OPQUEUE_H

#include <pthread.h>
#include <stdint.h>

#include "status.h"

struct hv_opqueue_waiter;

struct hv_opqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	int busy;            /* an operation holds the resource */
	struct hv_opqueue_waiter *head, *tail;
	unsigned len, max, peak;
	uint64_t full, expired, stopped; /* refusals, by reason */
};

struct hv_opqueue_stats {
	unsigned waiting, peak, max;
	uint64_t full, expired, stopped;
};

/* max: how many may wait behind the running operation (at least 1). */
void hv_opqueue_init(struct hv_opqueue *q, unsigned max);
void hv_opqueue_destroy(struct hv_opqueue *q);

/* Waits for the turn of operation `what` (named in messages, "START").
 * deadline_ns (hv_mono_ns clock) 0 = the call scope's. 0 when the caller
 * holds the resource (release with hv_opqueue_leave); -1 with a status
 * "<what> not sent: ..." otherwise. A deadline that has already passed is
 * refused even when the resource is free. */
int hv_opqueue_enter(struct hv_opqueue *q, const char *what, uint64_t deadline_ns,
		     struct hv_status *st);
void hv_opqueue_leave(struct hv_opqueue *q);

void hv_opqueue_stats(struct hv_opqueue *q, struct hv_opqueue_stats *out);

#endif /* HV_OPQUEUE_H */
