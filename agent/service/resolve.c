/*
 * resolve.c - from a VmSelector (name, id or uuid) to the VM's status slot.
 */
#include "agent.h"
#include "store.h"
#include "uuid.h"

#include <stdio.h>
#include <string.h>

int resolve_check_name(const char *name, struct hv_status *st)
{
	size_t n = strlen(name);

	if (n == 0)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "empty VM name");
	/* The store's bound: it is the larger (hv-core's is HVM_NAME_LEN - 1). */
	if (n > STORE_NAME_MAX)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "VM name of %zu bytes: a VM name has at most %d", n,
				     STORE_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "VM name holds control character 0x%02x at byte %zu",
					     (unsigned char)name[i], i);
	return 0;
}

int resolve_check_selector(const Hvmgr__V1__VmSelector *sel, uint8_t uuid[16], char *label,
			   size_t label_len, struct hv_status *st)
{
	snprintf(label, label_len, "?");
	if (!sel || sel->by_case == HVMGR__V1__VM_SELECTOR__BY__NOT_SET)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "no VM named: set vm.name, vm.id or vm.uuid");
	switch (sel->by_case) {
	case HVMGR__V1__VM_SELECTOR__BY_NAME:
		if (resolve_check_name(sel->name, st) != 0)
			return -1;
		snprintf(label, label_len, "'%s'", sel->name);
		return 0;
	case HVMGR__V1__VM_SELECTOR__BY_ID:
		snprintf(label, label_len, "id %u", sel->id);
		return 0;
	case HVMGR__V1__VM_SELECTOR__BY_UUID:
		snprintf(label, label_len, "uuid %s", sel->uuid);
		if (hv_uuid_parse(sel->uuid, uuid) != 0)
			return hv_status_set(st, HV_INVALID_ARGUMENT,
					     "malformed uuid '%s' (expected 8-4-4-4-12 hex digits)",
					     sel->uuid);
		return 0;
	default:
		return hv_status_set(st, HV_INVALID_ARGUMENT, "unknown VM selector %d",
				     (int)sel->by_case);
	}
}

int resolve_vm(struct agent *ag, const Hvmgr__V1__VmSelector *sel, struct hvm_vm_slot *out,
	       char *label, size_t label_len, struct hv_status *st)
{
	uint8_t uuid[16];

	if (resolve_check_selector(sel, uuid, label, label_len, st) != 0)
		return -1;
	if (sel->by_case == HVMGR__V1__VM_SELECTOR__BY_NAME)
		return hvlink_find_by_name(ag->link, sel->name, out, st);
	if (sel->by_case == HVMGR__V1__VM_SELECTOR__BY_ID)
		return hvlink_find_by_id(ag->link, sel->id, out, st);
	return hvlink_find_by_uuid(ag->link, uuid, out, st);
}

int resolve_slots(struct agent *ag, const Hvmgr__V1__VmSelector *sel,
		  struct hvm_vm_slot slots[HVM_MAX_VMS], uint32_t *mask, char *label,
		  size_t label_len, struct hv_status *st)
{
	if (sel) {
		if (resolve_vm(ag, sel, &slots[0], label, label_len, st) != 0)
			return -1;
		*mask = 1;
		return 0;
	}
	snprintf(label, label_len, "every VM");
	return hvlink_read_slots(ag->link, slots, mask, st);
}
