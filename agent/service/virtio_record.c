/*
 * virtio_record.c - validation of hv-core's GET_VIRTIO record (MGMT-850). A
 * record that is not what the ABI says is reported as INTERNAL with the field
 * that is wrong: the agent never passes on counters it cannot vouch for.
 */
#include "virtio_record.h"

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

	if (ret0 != sizeof v)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: hv-core answered a length of %" PRIu64
				     " bytes, expected %zu (MGMT-850)",
				     vm_id, ret0, sizeof v);
	if (len < sizeof v)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: only %zu bytes could be read, expected %zu (MGMT-850)",
				     vm_id, len, sizeof v);
	memcpy(&v, buf, sizeof v);
	if (v.magic != HVM_VIRTIO_MAGIC)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: magic 0x%08x, expected 0x%08x \"HVIO\" (MGMT-850)",
				     vm_id, v.magic, HVM_VIRTIO_MAGIC);
	if (v.version != HVM_VIRTIO_VERSION)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: version %u, expected %u (MGMT-850)",
				     vm_id, v.version, HVM_VIRTIO_VERSION);
	if (v.size != sizeof v)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: size field %u, expected %zu (MGMT-850)",
				     vm_id, v.size, sizeof v);
	if (v.vm_id != vm_id)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_VIRTIO record for VM %u: it describes VM %u (MGMT-850)",
				     vm_id, v.vm_id);
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
