/*
 * virtio_record.h - checking the GET_VIRTIO record hv-core writes into the
 * command data area (docs/mgmt-abi.md MGMT-850) before any field of it
 * reaches a client, and the names of VIRTIO device types. Free of protobuf
 * and of the link, so a unit test can hand it any bytes.
 */
#ifndef VIRTIO_RECORD_H
#define VIRTIO_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"
#include "status.h"

/* Checks `len` bytes copied from the data area (`ret0` and `ret1` are what
 * hv-core answered in ret[0] and ret[1]) for VM `vm_id`: the length, magic,
 * version, size, vm_id and device count must be MGMT-850's, and the entries
 * past the count zero. 0 with *out filled; otherwise -1 with INTERNAL naming
 * the field that is wrong and what it held. */
int virtio_record_check(const void *buf, size_t len, uint64_t ret0, uint64_t ret1, uint32_t vm_id,
			struct hvm_virtio *out, struct hv_status *st);

/* "net", "blk", "console", "rng" for a VIRTIO device id; "unknown" else. */
const char *virtio_type_word(uint32_t type);

#endif /* VIRTIO_RECORD_H */
