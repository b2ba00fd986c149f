/*
 * audit_anchor.h - the audit head's sequence handed to hv-core (docs/mgmt-abi.md
 * MGMT-630, MGMT-631; docs/security.md "The audit record").
 *
 * hv-core keeps, in its non-volatile storage, the newest sequence of the audit
 * head hv-agent handed over; it never goes back. At start hv-agent compares:
 * when hv-core holds a newer sequence than the newest row of the log, the
 * database and its head file were put back together from an older copy (a
 * restore the keyed chain alone cannot see), and that is reported as a finding
 * of the audit log (store_audit_report): changes are refused until an admin
 * acknowledges it. Afterwards the heads the store writes are handed to hv-core
 * by a thread of its own, so no RPC waits for hv-core's service tick: a burst
 * of rows once it has been quiet for a second (at least every 5 s), so that
 * hv-core writes its flash once per burst, and at stop. hv-agent does this by
 * default; a hv-core without the commands (or without non-volatile storage)
 * turns it off, said once in the log as a warning and kept in the state that
 * diagnostics show (audit_anchor_describe): never a silent pass.
 */
#ifndef AGENT_AUDIT_ANCHOR_H
#define AGENT_AUDIT_ANCHOR_H
#include <stddef.h>
#include <stdint.h>
#include "hvlink.h"
#include "status.h"
#include "store.h"

struct audit_anchor;

#define AUDIT_ANCHOR_STATE_LEN 160

struct audit_anchor *audit_anchor_new(void);
/* The store's head_written callback (struct store_seal): records seq. */
void audit_anchor_head(void *anchor, uint64_t seq);
/* Starts the thread: the check at start (once hv-core answers), then the
 * hand-over of each new head. */
int audit_anchor_start(struct audit_anchor *a, struct hvlink *link, struct store *st,
		       struct hv_status *status);
/* Hands over the newest head still pending (bounded by the command timeout)
 * and stops the thread (before the link closes). The callback stays harmless. */
void audit_anchor_stop(struct audit_anchor *a);
/* One line for diagnostics: "anchored: ...", "not anchored: why", or "not
 * anchored yet: ..." before hv-core answered; a NULL anchor is one turned off
 * by --no-audit-anchor. */
void audit_anchor_describe(struct audit_anchor *a, char *buf, size_t len);
/* After the store is closed. */
void audit_anchor_free(struct audit_anchor *a);
#endif
