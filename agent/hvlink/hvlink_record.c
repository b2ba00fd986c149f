/*
 * hvlink_record.c - the header every data record of hv-core starts with
 * (magic 32, version 16, size 16, VM id 32: GET_STATS MGMT-180, GET_VIRTIO
 * MGMT-850), checked against what the command answered. A record that is not
 * what the ABI says is reported as INTERNAL naming the field that is wrong.
 */
#include "hvlink.h"

#include <inttypes.h>
#include <string.h>

int hvlink_record_check(const struct hvlink_record_kind *k, const void *buf, size_t len,
			uint64_t ret0, uint32_t vm_id, struct hv_status *st)
{
	struct {
		uint32_t magic;
		uint16_t version, size;
		uint32_t vm_id;
	} h;

	if (ret0 != k->size)
		return hv_status_set(st, HV_INTERNAL,
				     "%s record for VM %u: hv-core answered a length of %" PRIu64
				     " bytes, expected %zu (%s)",
				     k->what, vm_id, ret0, k->size, k->clause);
	if (len < k->size)
		return hv_status_set(st, HV_INTERNAL,
				     "%s record for VM %u: only %zu bytes could be read, expected %zu (%s)",
				     k->what, vm_id, len, k->size, k->clause);
	memcpy(&h, buf, sizeof h);
	if (h.magic != k->magic)
		return hv_status_set(st, HV_INTERNAL,
				     "%s record for VM %u: magic 0x%08x, expected 0x%08x \"%s\" (%s)",
				     k->what, vm_id, h.magic, k->magic, k->tag, k->clause);
	if (h.version != k->version)
		return hv_status_set(st, HV_INTERNAL,
				     "%s record for VM %u: version %u, expected %u (%s)", k->what,
				     vm_id, h.version, k->version, k->clause);
	if (h.size != k->size)
		return hv_status_set(st, HV_INTERNAL,
				     "%s record for VM %u: size field %u, expected %zu (%s)",
				     k->what, vm_id, h.size, k->size, k->clause);
	if (h.vm_id != vm_id)
		return hv_status_set(st, HV_INTERNAL, "%s record for VM %u: it describes VM %u (%s)",
				     k->what, vm_id, h.vm_id, k->clause);
	return 0;
}
