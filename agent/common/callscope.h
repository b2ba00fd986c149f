/*
 * callscope.h - what the request a thread is serving allows: its deadline and
 * whether the server is stopping.
 *
 * The RPC layer enters a scope around each handler; code that waits on a
 * handler's behalf (hvlink's command queue) honors it, so a client's deadline
 * reaches the register interface without every handler passing it down, and
 * neither module includes the other. A thread outside a call has no scope:
 * no deadline, never stopping.
 */
#ifndef HV_CALLSCOPE_H
#define HV_CALLSCOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "deadline.h" /* hv_mono_ns: the clock of deadline_ns */

struct hv_callscope {
	uint64_t deadline_ns; /* CLOCK_MONOTONIC (hv_mono_ns); 0 = none      */
	const int *stopping;  /* read atomically; nonzero = server stopping;
	                          NULL = never                                */
};

/* Sets the calling thread's scope (copied); hv_callscope_leave clears it. */
void hv_callscope_enter(const struct hv_callscope *cs);
void hv_callscope_leave(void);

/* The calling thread's deadline (0 = none) and stopping flag. */
uint64_t hv_callscope_deadline(void);
bool hv_callscope_stopping(void);

#endif /* HV_CALLSCOPE_H */
