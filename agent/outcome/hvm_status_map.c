/*
 * hvm_status_map.c - hypervisor status codes (MGMT-030) to RPC status codes
 * (outcome.h). The table is normative for clients: docs/api.md reproduces it.
 */
#include "outcome.h"

#include <stdio.h>

static const struct {
	uint32_t hvm;
	enum hv_code code;
	const char *text; /* said when hv-core gave no ret_msg */
} table[] = {
	{ HVM_OK, HV_OK, "done" },
	{ HVM_E_UNKNOWN_CMD, HV_UNIMPLEMENTED, "the hypervisor does not implement this command" },
	{ HVM_E_BAD_VM, HV_NOT_FOUND, "no such VM in the hypervisor" },
	{ HVM_E_STATE, HV_FAILED_PRECONDITION, "not allowed in the VM's current state" },
	{ HVM_E_BAD_CONFIG, HV_INVALID_ARGUMENT, "the configuration breaks a rule of vm-config.md" },
	{ HVM_E_OVERLAP, HV_FAILED_PRECONDITION, "memory overlaps another VM or the hypervisor" },
	{ HVM_E_CPU, HV_RESOURCE_EXHAUSTED, "CPU absent, over-committed or reserved for a safety VM" },
	{ HVM_E_CHANNEL, HV_INVALID_ARGUMENT, "a channel names an unknown VM or invalid rights" },
	{ HVM_E_FDT, HV_INVALID_ARGUMENT, "the configuration is not a valid device tree" },
	{ HVM_E_BAD_ARG, HV_INVALID_ARGUMENT, "an argument is out of range" },
	{ HVM_E_NO_SPACE, HV_RESOURCE_EXHAUSTED, "the VM table is full" },
	{ HVM_E_HASH, HV_DATA_LOSS, "the image SHA-256 differs from the configuration" },
	{ HVM_E_EXISTS, HV_ALREADY_EXISTS, "a VM with this name or uuid is already defined" },
	{ HVM_E_SELFTEST, HV_FAILED_PRECONDITION, "refused because a boot self-test failed" },
	{ HVM_E_INTERNAL, HV_INTERNAL, "hypervisor-side failure" },
	{ HVM_E_POLICY, HV_FAILED_PRECONDITION,
	  "refused by the safety policy in the current vehicle state" },
	{ HVM_E_ROLLBACK, HV_FAILED_PRECONDITION,
	  "older than what hv-core's non-volatile state holds (anti-rollback)" },
	{ HVM_E_NV, HV_FAILED_PRECONDITION, "non-volatile storage absent, full or failed" },
	{ HVM_E_SIGNATURE, HV_INVALID_ARGUMENT,
	  "update manifest not signed by a trusted update signer" },
	{ HVM_E_MIXED, HV_FAILED_PRECONDITION,
	  "the VM's image and initrd come from different update bundles" },
};

enum hv_code status_from_hvm(uint32_t hvm_status)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].hvm == hvm_status)
			return table[i].code;
	return HV_UNKNOWN;
}

int status_from_reply(struct hv_status *st, const char *what, uint32_t cmd,
		      const struct hvlink_reply *rep)
{
	const char *text = "unknown hypervisor status";

	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].hvm == rep->status)
			text = table[i].text;
	return hv_status_set(st, status_from_hvm(rep->status), "%s: hv-core refused %s (%s): %s",
			     what, hvlink_cmd_name(cmd), hvlink_hvm_status_name(rep->status),
			     rep->msg[0] ? rep->msg : text);
}
