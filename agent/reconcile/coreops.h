/*
 * coreops.h - the hv-core side of the operations that hv-agent's store and
 * reconciliation share: define a configuration blob, run one lifecycle
 * command, with the outcome split into "hv-core refused" (a definite answer:
 * nothing changed, REQ-SAF-09) and "no answer" (the link is down or the
 * command timed out: the outcome is unknown and reconciliation must look
 * again later).
 */
#ifndef COREOPS_H
#define COREOPS_H

#include <stddef.h>
#include <stdint.h>

#include "hvlink.h"

enum core_result {
	CORE_OK = 0,
	CORE_REFUSED,   /* hv-core answered with a refusal; st says which (MGMT-030 mapped) */
	CORE_NO_ANSWER, /* not delivered or not completed; st says why */
};

/* Runs cmd on VM id; `what` prefixes messages ("start 'web'"). */
enum core_result core_cmd(struct hvlink *l, uint32_t cmd, uint32_t id, uint64_t arg0, const char *what,
			  struct hv_status *st);

/* DEFINE of a configuration blob; *id gets the new VM's slot. */
enum core_result core_define(struct hvlink *l, const void *blob, size_t len, const char *what, uint32_t *id,
			     struct hv_status *st);

#endif /* COREOPS_H */
