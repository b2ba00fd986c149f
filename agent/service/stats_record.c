/*
 * stats_record.c - validation of hv-core's GET_STATS record (MGMT-180). A
 * record that is not what the ABI says is reported as INTERNAL with the field
 * that is wrong: the agent never passes on counters it cannot vouch for.
 */
#include "stats_record.h"

#include <inttypes.h>
#include <string.h>

int stats_record_check(const void *buf, size_t len, uint64_t ret0, uint32_t vm_id,
		       struct hvm_stats *out, struct hv_status *st)
{
	struct hvm_stats s;

	if (ret0 != sizeof s)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: hv-core answered a length of %" PRIu64
				     " bytes, expected %zu (MGMT-180)",
				     vm_id, ret0, sizeof s);
	if (len < sizeof s)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: only %zu bytes could be read, expected %zu (MGMT-180)",
				     vm_id, len, sizeof s);
	memcpy(&s, buf, sizeof s);
	if (s.magic != HVM_STATS_MAGIC)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: magic 0x%08x, expected 0x%08x \"HVST\" (MGMT-180)",
				     vm_id, s.magic, HVM_STATS_MAGIC);
	if (s.version != HVM_STATS_VERSION)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: version %u, expected %u (MGMT-180)",
				     vm_id, s.version, HVM_STATS_VERSION);
	if (s.size != sizeof s)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: size field %u, expected %zu (MGMT-180)",
				     vm_id, s.size, sizeof s);
	if (s.vm_id != vm_id)
		return hv_status_set(st, HV_INTERNAL,
				     "GET_STATS record for VM %u: it describes VM %u (MGMT-180)",
				     vm_id, s.vm_id);
	*out = s;
	return 0;
}
