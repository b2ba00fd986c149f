/*
 * agent_stack.h - the whole stack for END-TO-END tests: the real hv-core under
 * QEMU at EL2 (tests/lib/hvqemu.h) and the real hv-agent on QEMU's fresh state
 * directory. One place decides where the hv-core image comes from and that a
 * test without one is skipped, not failed.
 *
 * Needs the hvqemu library and agent_harness.c.
 */
#ifndef AGENT_STACK_H
#define AGENT_STACK_H

#include <stddef.h>

#include "agent_harness.h"
#include "hvqemu.h"

/* The hv-core build output: $HV_CORE_OUT, else the build's (HV_CORE_OUT). */
const char *agent_stack_core_dir(void);

/* Starts QEMU with hv-core (opts, or HVQ_OPTS_DEFAULT when NULL; core_dir
 * from agent_stack_core_dir() when unset). Skips the test when there is no
 * hv-core image; fails it when QEMU does not start. *q is zeroed first. */
void agent_stack_start_core(struct hvq *q, const struct hvq_opts *opts);

/* agent_stack_start_core, then hv-agent on q->dir (agent_extra as for
 * agent_start, may be NULL); uri gets "unix://" and its read-write socket.
 * Fails the test when hv-agent does not start. */
void agent_stack_start(struct hvq *q, struct agent_proc *agent, const char *const *agent_extra,
		       char *uri, size_t uri_len);

/* Stops hv-agent (if started) and QEMU; safe after a failed or skipped start. */
void agent_stack_stop(struct hvq *q, struct agent_proc *agent);

#endif /* AGENT_STACK_H */
