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
	/* Called once per scope, on the serving thread, when the request is
	 * about to wait for something slow (hv_callscope_blocking): the RPC
	 * layer then keeps another thread on its queue. NULL = nothing. */
	void (*on_block)(void *arg);
	void *block_arg;
};

/* Sets the calling thread's scope (copied); hv_callscope_leave clears it. */
void hv_callscope_enter(const struct hv_callscope *cs);
void hv_callscope_leave(void);

/* The calling thread's deadline (0 = none) and stopping flag. */
uint64_t hv_callscope_deadline(void);
bool hv_callscope_stopping(void);

/* Says that the calling thread is about to wait for something slow (a
 * management operation's turn, hv-core's answer): runs the scope's on_block
 * the first time. Requests that never wait (answered from memory) never
 * call it, and keep their thread to themselves. */
void hv_callscope_blocking(void);

#endif /* HV_CALLSCOPE_H */
