/*
 * stats_record.c - validation of hv-core's GET_STATS record (MGMT-180). A
 * record that is not what the ABI says is reported as INTERNAL with the field
 * that is wrong: the agent never passes on counters it cannot vouch for.
 */
#include "stats_record.h"

#include "hvlink.h"

#include <inttypes.h>
#include <string.h>

int stats_record_check(const void *buf, size_t len, uint64_t ret0, uint32_t vm_id,
		       struct hvm_stats *out, struct hv_status *st)
{
	static const struct hvlink_record_kind kind = {
		"GET_STATS", "MGMT-180", "HVST", HVM_STATS_MAGIC, HVM_STATS_VERSION, sizeof *out
	};

	if (hvlink_record_check(&kind, buf, len, ret0, vm_id, st) != 0)
		return -1;
	memcpy(out, buf, sizeof *out);
	return 0;
}
