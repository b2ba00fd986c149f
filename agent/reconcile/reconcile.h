/*
 * reconcile.h - bringing hv-core to the state hv-agent's store describes
 * (REQ-PRD-04, docs/architecture.md, "The parts": hv-agent may restart at any moment
 * and, on start, reconciles what sqlite says with what hv-core reports).
 *
 * One pass compares the store's VMs with hv-core's status slots, matched by
 * name (and uuid where hv-core reports one), and:
 *   - defines in hv-core each stored VM it lacks, from the latest revision;
 *   - starts VMs whose desired state is RUNNING (or PAUSED: start + suspend),
 *     and autostart VMs that it has just defined (a fresh hv-core);
 *   - resumes, suspends or shuts down VMs whose state differs from a desired
 *     state an interrupted request left behind;
 *   - leaves CRASHED VMs alone (hv-core's fault policy decided, REQ-SAF-20);
 *   - adopts a VM hv-core has and the store lacks when hv-agent was given the
 *     boot configuration hv-core defined it from (--boot-config) and the VM's
 *     name and uuid are in it: stored as revision 1, author "boot
 *     configuration", audited, desired state as hv-core shows it;
 *   - otherwise never touches a VM hv-core has and the store lacks
 *     ("unmanaged": another client defined it, or its uuid differs from the
 *     boot configuration's).
 * Every decision is one log line (what, why, outcome). docs/reconcile.md has
 * the rules and the crash points they cover.
 *
 * Passes run at start (reconcile_run from main) and from a watcher thread
 * whenever hv-core comes up or restarts (its uptime goes back, or the link
 * was down). A pass is an operation of the agent's operation queue
 * (opqueue.h), like every state-changing RPC, so the two never interleave.
 * A pass that finds the queue full waits and tries again rather than fail:
 * reconciliation is not a client that can be told to come back later.
 */
#ifndef RECONCILE_H
#define RECONCILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootconf.h"
#include "outcome.h"
#include "hvlink.h"
#include "opqueue.h"
#include "store.h"

#define RECONCILE_LIST_MAX 32

struct reconcile;

struct reconcile_config {
	struct hvlink *link;
	struct store *store;
	struct hv_opqueue *ops;      /* entered by every state-changing RPC as well */
	unsigned poll_ms;            /* watcher period; 0 = 250 ms */
	const struct bootconf *boot; /* hv-core's boot configuration, or NULL (no adoption) */
};

struct reconcile_stats {
	uint64_t runs;  /* passes completed */
	char last[256]; /* summary of the last pass (or why it stopped) */
	size_t n_unmanaged;
	char unmanaged[HVM_MAX_VMS][HVM_NAME_LEN];
	size_t n_inactive;
	char inactive[RECONCILE_LIST_MAX][160]; /* "name: why" */
};

struct reconcile *reconcile_new(const struct reconcile_config *cfg);
/* Stops the watcher if started, then frees. */
void reconcile_free(struct reconcile *r);

/* One pass now, as an operation of the queue (waits for its turn; a full
 * queue is retried every RECONCILE_RETRY_MS). 0 when it completed
 * (individual VMs may still have failed: see the stats); -1 when hv-core
 * could not be reached or stopped answering (UNAVAILABLE, DEADLINE_EXCEEDED),
 * the store failed, or hv-agent began to stop while the pass waited
 * (UNAVAILABLE). */
int reconcile_run(struct reconcile *r, const char *why, struct hv_status *st);
#define RECONCILE_RETRY_MS 50u
/* The same, for a caller that already holds the operation. */
int reconcile_run_locked(struct reconcile *r, const char *why, struct hv_status *st);

/* Starts the watcher thread. */
int reconcile_start(struct reconcile *r, struct hv_status *st);

void reconcile_stats(struct reconcile *r, struct reconcile_stats *out);

/* Why the last pass could not define a stored VM, or NULL-free "" (false). */
bool reconcile_vm_failed(struct reconcile *r, const char *name, char *why, size_t len);

/* Defines a stored VM in hv-core from its latest revision (used by passes
 * and by Start of a VM hv-core lacks). *rev gets the revision used. */
enum core_result reconcile_define_stored(struct hvlink *l, struct store *s, const char *name,
					 uint32_t *id, uint32_t *rev, struct hv_status *st);

/* Human names for log lines: "running", "shut off", ... */
const char *reconcile_state_name(uint32_t hvm_state);
const char *reconcile_reason_name(uint32_t hvm_reason);

#endif /* RECONCILE_H */
