/*
 * vmstore.c - the store's side of a VM in hvmgr.v1 messages: matching hv-core's
 * status slots with stored VMs, merging autostart / revision / desired state
 * into Vm, and VMs the store holds that hv-core lacks (docs/reconcile.md).
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include "reconcile.h"
#include "store.h"
#include "store_status.h"
#include "uuid.h"

static Hvmgr__V1__VmState desired_to_proto(enum store_vm_state d)
{
	switch (d) {
	case STORE_VM_RUNNING:
		return HVMGR__V1__VM_STATE__VM_STATE_RUNNING;
	case STORE_VM_PAUSED:
		return HVMGR__V1__VM_STATE__VM_STATE_PAUSED;
	case STORE_VM_STOPPED:
		break;
	}
	return HVMGR__V1__VM_STATE__VM_STATE_SHUTOFF;
}

void vm_msg_apply_store(struct vm_msg *m, const struct store_vm *v)
{
	m->vm.autostart = v->autostart;
	m->vm.config_revision = v->latest_rev;
	m->vm.desired_state = desired_to_proto(v->desired);
	m->vm.unmanaged = 0;
	/* hv-core reports an all-zero uuid for a configuration without one;
	 * the store always has one. */
	if (strcmp(m->uuid, "00000000-0000-0000-0000-000000000000") == 0)
		snprintf(m->uuid, sizeof m->uuid, "%s", v->uuid);
}

void vm_msg_from_stored(struct agent *ag, struct vm_msg *m, const struct store_vm *v)
{
	Hvmgr__V1__Vm init = HVMGR__V1__VM__INIT;
	char why[160];

	m->vm = init;
	snprintf(m->name, sizeof m->name, "%s", v->name);
	snprintf(m->uuid, sizeof m->uuid, "%s", v->uuid);
	m->image_version[0] = '\0';
	m->vm.id = HVMGR_NO_ID;
	m->vm.name = m->name;
	m->vm.uuid = m->uuid;
	m->vm.image_version = m->image_version;
	m->vm.state = HVMGR__V1__VM_STATE__VM_STATE_SHUTOFF;
	m->vm.reason = ag->reconcile && reconcile_vm_failed(ag->reconcile, v->name, why, sizeof why)
			       ? HVMGR__V1__VM_REASON__VM_REASON_FAILED
			       : HVMGR__V1__VM_REASON__VM_REASON_UNKNOWN;
	m->vm.in_hypervisor = 0;
	vm_msg_apply_store(m, v);
}

int store_vm_for_slot(struct agent *ag, const struct hvm_vm_slot *s, struct store_vm *out,
		      struct hv_status *st)
{
	struct store_err e;
	char u[HV_UUID_STR_LEN];
	static const uint8_t zero[16];

	switch (store_vm_get(ag->store, s->name, out, &e)) {
	case STORE_OK:
		break;
	case STORE_ENOTFOUND:
	case STORE_EINVAL: /* a name the store cannot hold is not stored */
		return 0;
	default:
		return status_from_store(st, &e, "store");
	}
	if (memcmp(s->uuid, zero, 16) == 0)
		return 1;
	hv_uuid_format(s->uuid, u);
	return strcmp(u, out->uuid) == 0;
}

int vm_msg_merged(struct agent *ag, struct vm_msg *m, const struct hvm_vm_slot *s,
		  struct hv_status *st)
{
	struct store_vm v;

	vm_msg_from_slot(m, s);
	int rc = store_vm_for_slot(ag, s, &v, st);
	if (rc < 0)
		return -1;
	if (rc == 1)
		vm_msg_apply_store(m, &v);
	return 0;
}

int resolve_stored(struct agent *ag, const Hvmgr__V1__VmSelector *sel, struct store_vm *out,
		   char *label, size_t label_len, struct hv_status *st)
{
	struct store_err e;
	struct hvm_vm_slot slot;
	uint8_t u[16];

	if (resolve_check_selector(sel, u, label, label_len, st) != 0)
		return -1;
	switch (sel->by_case) {
	case HVMGR__V1__VM_SELECTOR__BY_NAME:
		if (store_vm_get(ag->store, sel->name, out, &e) == STORE_OK)
			return 0;
		if (e.code != STORE_ENOTFOUND && e.code != STORE_EINVAL)
			return status_from_store(st, &e, "store");
		break;
	case HVMGR__V1__VM_SELECTOR__BY_ID:
		if (resolve_vm(ag, sel, &slot, label, label_len, st) != 0)
			return -1;
		snprintf(label, label_len, "'%s'", slot.name);
		int rc = store_vm_for_slot(ag, &slot, out, st);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
		break;
	case HVMGR__V1__VM_SELECTOR__BY_UUID: {
		char canon[HV_UUID_STR_LEN];
		struct store_vm *list;
		size_t n;
		hv_uuid_format(u, canon);
		if (store_vm_list(ag->store, &list, &n, &e) != STORE_OK)
			return status_from_store(st, &e, "store");
		int found = 0;
		for (size_t i = 0; i < n && !found; i++)
			if (strcmp(list[i].uuid, canon) == 0) {
				*out = list[i];
				found = 1;
			}
		store_vm_list_free(list);
		if (found)
			return 0;
		break;
	}
	default:
		return hv_status_set(st, HV_INVALID_ARGUMENT, "unknown VM selector %d",
				     (int)sel->by_case);
	}
	return hv_status_set(st, HV_NOT_FOUND, "hv-agent holds no configuration for VM %s", label);
}
