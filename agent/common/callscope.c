/*
 * callscope.c - the per-thread scope of the request being served
 * (callscope.h). A thread-local copy: set and read by the same thread only.
 */
#include "callscope.h"

static _Thread_local struct hv_callscope scope;

void hv_callscope_enter(const struct hv_callscope *cs)
{
	scope = *cs;
}

void hv_callscope_leave(void)
{
	scope.deadline_ns = 0;
	scope.stopping = NULL;
	scope.on_block = NULL;
	scope.block_arg = NULL;
}

void hv_callscope_blocking(void)
{
	void (*fn)(void *) = scope.on_block;

	scope.on_block = NULL; /* once per scope */
	if (fn)
		fn(scope.block_arg);
}

uint64_t hv_callscope_deadline(void)
{
	return scope.deadline_ns;
}

bool hv_callscope_stopping(void)
{
	return scope.stopping && __atomic_load_n(scope.stopping, __ATOMIC_ACQUIRE) != 0;
}
