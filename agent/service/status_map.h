/*
 * status_map.h - hypervisor status codes (MGMT-030) to RPC status codes
 * (status_map.c; docs/api.md reproduces the table). Free of protobuf so that
 * the reconciliation code can use it too.
 */
#ifndef STATUS_MAP_H
#define STATUS_MAP_H

#include <stdint.h>

#include "hvlink.h"

/* The RPC code for a hypervisor status. */
enum hv_code status_from_hvm(uint32_t hvm_status);

/* Fills st from a completed command that hv-core refused:
 * "<what>: hv-core refused START (E_STATE): <ret_msg>". Returns -1. */
int status_from_reply(struct hv_status *st, const char *what, uint32_t cmd,
		      const struct hvlink_reply *rep);

#endif /* STATUS_MAP_H */
