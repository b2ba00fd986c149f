/*
 * hvlink_cmd.c - submitting management commands (MGMT-110, MGMT-111, MGMT-120).
 *
 * One command is outstanding at a time, across all threads of hv-agent (the
 * command queue). The client writes cmd, vm_id, arg[] and the data area, then
 * req_seq = done_seq + 1 with release ordering; hv-core completes it and writes
 * done_seq = req_seq with release ordering, which we read with acquire. The wait
 * is bounded: a hypervisor that never answers gives DEADLINE_EXCEEDED with the
 * command's name and whether hv-core's service tick still advances (MGMT-011),
 * and a command left outstanding that way is waited for (bounded again) before
 * the next one is submitted (MGMT-113).
 *
 * Commands that arrive while one is outstanding wait in a bounded FIFO queue
 * (opqueue.h): a full queue refuses at once, and a waiter whose caller's
 * deadline passes, or whose server starts to stop, leaves the queue without
 * its command ever reaching hv-core. Nothing here is held by readers, so a
 * slow command never delays a read of the status slots.
 */
#include "hvlink_priv.h"

#include <stdio.h>
#include <string.h>

/* Waits until done_seq == seq or the deadline passes. 0 when done. */
static int wait_done(volatile struct hvm_regs *r, uint32_t seq, uint64_t deadline)
{
	unsigned round = 0;

	for (;;) {
		if (__atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) == seq)
			return 0;
		if (hv_mono_ns() > deadline)
			return -1;
		link_backoff(&round);
	}
}

static int submit_locked(struct hvlink *l, const struct hvlink_cmd *c, struct hvlink_reply *rep,
			 struct hv_status *st)
{
	volatile struct hvm_regs *r = link_regs(l);
	const char *name = hvlink_cmd_name(c->cmd);

	if (c->data_in_len > l->lay.data_size)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "%s: %zu bytes of data do not fit the %u-byte command data area",
				     name, c->data_in_len, l->lay.data_size);

	/* Step 1: nothing outstanding. A command left over by a timeout or by a
	 * previous hv-agent gets the usual time to finish first. */
	uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) != req &&
	    wait_done(r, req, hv_deadline_after_ms(l->cmd_timeout_ms)) != 0)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "%s not sent: an earlier command (seq %u) is still outstanding in hv-core after %u ms",
				     name, req, l->cmd_timeout_ms);

	/* Step 2: arguments and data. */
	r->cmd = c->cmd;
	r->vm_id = c->vm_id;
	for (int i = 0; i < 6; i++)
		r->arg[i] = c->arg[i];
	if (c->data_in_len)
		memcpy((void *)(l->base + l->lay.off_data), c->data_in, c->data_in_len);

	/* Step 3: submit. */
	uint32_t seq = __atomic_load_n(&r->done_seq, __ATOMIC_RELAXED) + 1u;
	uint64_t ticks0 = __atomic_load_n(&r->hv_ticks, __ATOMIC_RELAXED);
	__atomic_store_n(&r->req_seq, seq, __ATOMIC_RELEASE);
	__atomic_add_fetch(&l->cnt.commands_sent, 1, __ATOMIC_RELAXED);

	/* Step 4: wait for completion. */
	unsigned wait_ms = c->timeout_ms > l->cmd_timeout_ms ? c->timeout_ms : l->cmd_timeout_ms;
	if (wait_done(r, seq, hv_deadline_after_ms(wait_ms)) != 0) {
		uint64_t ticks1 = __atomic_load_n(&r->hv_ticks, __ATOMIC_RELAXED);
		__atomic_add_fetch(&l->cnt.commands_timed_out, 1, __ATOMIC_RELAXED);
		return hv_status_set(st, HV_DEADLINE_EXCEEDED,
				     "hv-core did not complete %s (seq %u) within %u ms; its service tick %s",
				     name, seq, wait_ms,
				     ticks1 != ticks0 ? "still advances (command stuck)"
						      : "stands still (hypervisor unresponsive)");
	}

	/* Step 5: results. */
	rep->status = r->status;
	for (int i = 0; i < 6; i++)
		rep->ret[i] = r->ret[i];
	memcpy(rep->msg, (const void *)r->ret_msg, sizeof r->ret_msg);
	rep->msg[sizeof r->ret_msg] = '\0';
	if (c->data_out && c->data_out_cap) {
		size_t n = c->data_out_cap < l->lay.data_size ? c->data_out_cap : l->lay.data_size;
		memcpy(c->data_out, (const void *)(l->base + l->lay.off_data), n);
	}
	if (rep->status != HVM_OK)
		__atomic_add_fetch(&l->cnt.commands_failed, 1, __ATOMIC_RELAXED);
	return 0;
}

int hvlink_wait_idle(struct hvlink *l, struct hv_status *st)
{
	if (hv_opqueue_enter(&l->cmdq, "waiting for hv-core to be idle", 0, st) != 0)
		return -1;
	if (link_get(l, st) != 0) {
		hv_opqueue_leave(&l->cmdq);
		return -1;
	}
	volatile struct hvm_regs *r = link_regs(l);
	uint32_t req = __atomic_load_n(&r->req_seq, __ATOMIC_RELAXED);
	uint64_t ticks0 = __atomic_load_n(&r->hv_ticks, __ATOMIC_RELAXED);
	int rc = 0;
	if (__atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) != req &&
	    wait_done(r, req, hv_deadline_after_ms(l->cmd_timeout_ms)) != 0)
		rc = hv_status_set(st, HV_UNAVAILABLE,
				   "a command (%s, seq %u) submitted earlier, by this or a previous hv-agent, is still outstanding in hv-core after %u ms; its service tick %s",
				   hvlink_cmd_name(r->cmd), req, l->cmd_timeout_ms,
				   __atomic_load_n(&r->hv_ticks, __ATOMIC_RELAXED) != ticks0
					   ? "still advances (command stuck)"
					   : "stands still (hypervisor unresponsive)");
	link_put(l);
	hv_opqueue_leave(&l->cmdq);
	return rc;
}

int hvlink_command(struct hvlink *l, const struct hvlink_cmd *c, struct hvlink_reply *rep,
		   struct hv_status *st)
{
	memset(rep, 0, sizeof *rep);
	if (hv_opqueue_enter(&l->cmdq, hvlink_cmd_name(c->cmd), c->deadline_ns, st) != 0)
		return -1;
	if (link_get(l, st) != 0) {
		hv_opqueue_leave(&l->cmdq);
		return -1;
	}
	int rc = submit_locked(l, c, rep, st);
	link_put(l);
	hv_opqueue_leave(&l->cmdq);
	return rc;
}
