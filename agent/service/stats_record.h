/*
 * stats_record.h - checking the GET_STATS record hv-core writes into the
 * command data area (MGMT-180) before any field of it reaches a client.
 * Free of protobuf and of the link, so a unit test can hand it any bytes.
 */
#ifndef STATS_RECORD_H
#define STATS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"
#include "status.h"

/* Checks `len` bytes copied from the data area (`ret0` is the length hv-core
 * answered in ret[0]) for VM `vm_id`: the length, magic, version, size and
 * vm_id must be MGMT-180's. 0 with *out filled; otherwise -1 with INTERNAL
 * naming the field that is wrong and what it held ("GET_STATS record for
 * VM 3: magic 0x00000000, expected 0x54535648 \"HVST\" (MGMT-180)"). */
int stats_record_check(const void *buf, size_t len, uint64_t ret0, uint32_t vm_id,
		       struct hvm_stats *out, struct hv_status *st);

#endif /* STATS_RECORD_H */
