/*
 * virtio_record.c - validation of hv-core's GET_VIRTIO record (MGMT-850). A
 * record that is not what the ABI says is reported as INTERNAL with the field
 * that is wrong: the agent never passes on counters it cannot vouch for.
 */
#include "virtio_record.h"

#include "hvlink.h"

#include <inttypes.h>
#include <string.h>

const char *virtio_type_word(uint32_t type)
{
	switch (type) {
	case 1:
		return "net";
	case 2:
		return "blk";
	case 3:
		return "console";
	case 4:
		return "rng";
	}
	return "unknown";
}

int virtio_record_check(const void *buf, size_t len, uint64_t ret0, uint64_t ret1, uint32_t vm_id,
			struct hvm_virtio *out, struct hv_status *st)
{
	static const struct hvm_virtio_dev zero;
	struct hvm_virtio v;

	static const struct hvlink_record_kind kind = {
		"GET_VIRTIO", "MGMT-850", "HVIO", HVM_VIRTIO_MAGIC, HVM_VIRTIO_VERSION, sizeof v
	};

	if (hvlink_record_check(&kind, buf, len, ret0, vm_id, st) != 0)
		return -1;
	memcpy(&v, buf, sizeof v);
	if (v.count > HVM_VIRTIO_MAX || ret1 != v.count)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: count %u (ret[1] %" PRIu64
				     "), expected the same number, at most %u (MGMT-850)",
				     vm_id, v.count, ret1, HVM_VIRTIO_MAX);
	for (uint32_t i = v.count; i < HVM_VIRTIO_MAX; i++)
		if (memcmp(&v.dev[i], &zero, sizeof zero) != 0)
			return hv_status_set(st, HV_INTERNAL,
					     "GET_VIRTIO record for VM %u: entry %u past the count %u is not zero (MGMT-850)",
					     vm_id, i, v.count);
	*out = v;
	return 0;
}
