/*
 * outcome.h - what became of a management command, in RPC terms.
 *
 * hv-agent's services and its reconciliation submit commands to hv-core the
 * same way: submit one command through hvlink, split the outcome into
 * "done", "hv-core refused" (a definite answer: nothing changed, REQ-SAF-09)
 * and "no answer" (the link is down or the command timed out: the outcome is
 * unknown and reconciliation must look again later), and turn a refusal into
 * an RPC status with hv-core's status name and text (MGMT-030). The mapping
 * from hv-core's status codes to RPC codes is normative for clients:
 * docs/api.md reproduces it.
 *
 * Layer: above hvlink and common, below the store glue, reconciliation and
 * the services (agent/CMakeLists.txt). Free of protobuf and of the store.
 */
#ifndef OUTCOME_H
#define OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#include "hvlink.h"

enum core_result {
	CORE_OK = 0,
	CORE_REFUSED,   /* hv-core answered with a refusal; st says which (MGMT-030 mapped) */
	CORE_NO_ANSWER, /* not delivered or not completed; st says why */
};

/* ---- submit.c: submit a command, classify the result ---- */

/* Submits c and waits for it. CORE_OK with st reset; CORE_REFUSED with st
 * built by status_from_reply (`what` names the operation); CORE_NO_ANSWER
 * with hvlink's status unchanged. *rep holds hv-core's reply in the first
 * two cases. */
enum core_result core_submit(struct hvlink *l, const struct hvlink_cmd *c, struct hvlink_reply *rep,
			     const char *what, struct hv_status *st);

/* Runs cmd on VM id; `what` prefixes messages ("start 'web'"), including
 * those of a command that got no answer. */
enum core_result core_cmd(struct hvlink *l, uint32_t cmd, uint32_t id, uint64_t arg0,
			  const char *what, struct hv_status *st);

/* DEFINE of a configuration blob; *id gets the new VM's slot. */
enum core_result core_define(struct hvlink *l, const void *blob, size_t len, const char *what,
			     uint32_t *id, struct hv_status *st);

/* ---- hvm_status_map.c: hv-core status codes to RPC codes ---- */

/* The RPC code for a hypervisor status (UNKNOWN for a number outside MGMT-030). */
enum hv_code status_from_hvm(uint32_t hvm_status);

/* Fills st from a completed command that hv-core refused:
 * "<what>: hv-core refused START (E_STATE): <ret_msg>". Returns -1. */
int status_from_reply(struct hv_status *st, const char *what, uint32_t cmd,
		      const struct hvlink_reply *rep);

#endif /* OUTCOME_H */
