/*
 * svc_read.c - the read RPCs of hvmgr.v1: ListVms, GetVm, GetStats and
 * GetConsole. They answer from the shared region (status slots, console
 * rings) and never submit a command, so reads work while a long command runs.
 */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

static int is_active(uint32_t state)
{
	return state != HVM_VM_SHUTOFF && state != HVM_VM_NOSTATE;
}

void svc_list_vms(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__ListVmsRequest *req = (const Hvmgr__V1__ListVmsRequest *)m;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	Hvmgr__V1__ListVmsResponse resp = HVMGR__V1__LIST_VMS_RESPONSE__INIT;
	struct store_vm *stored = NULL;
	struct store_err e;
	uint32_t mask;
	size_t n = 0, ns = 0;

	if (hvlink_read_slots(ag->link, slots, &mask, &res->st) != 0)
		return;
	if (store_vm_list(ag->store, &stored, &ns, &e) != STORE_OK) {
		rpc_result_error(res, HV_INTERNAL, "store: %s", e.msg);
		return;
	}
	struct vm_msg *vms = calloc(HVM_MAX_VMS + ns, sizeof *vms);
	Hvmgr__V1__Vm **ptrs = calloc(HVM_MAX_VMS + ns, sizeof *ptrs);
	char *used = calloc(ns + 1, 1);
	if (!vms || !ptrs || !used) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	/* hv-core's VMs in id order, with the store's fields where it holds them. */
	for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)))
			continue;
		vm_msg_from_slot(&vms[n], &slots[i]);
		for (size_t j = 0; j < ns; j++) {
			if (used[j] || strcmp(stored[j].name, slots[i].name) != 0)
				continue;
			vm_msg_apply_store(&vms[n], &stored[j]);
			if (strcmp(vms[n].uuid, stored[j].uuid) != 0) {
				/* same name, another uuid: not the stored VM */
				vm_msg_from_slot(&vms[n], &slots[i]);
				continue;
			}
			used[j] = 1;
		}
		if (req->active_only && !is_active(slots[i].state))
			continue;
		ptrs[n] = &vms[n].vm;
		n++;
	}
	/* Then what only the store holds (virsh's inactive domains): shut off. */
	for (size_t j = 0; j < ns && !req->active_only; j++) {
		if (used[j])
			continue;
		vm_msg_from_stored(ag, &vms[n], &stored[j]);
		ptrs[n] = &vms[n].vm;
		n++;
	}
	resp.n_vms = n;
	resp.vms = ptrs;
	rpc_result_message(res, &resp.base);
out:
	free(vms);
	free(ptrs);
	free(used);
	store_vm_list_free(stored);
}

void svc_get_vm(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetVmRequest *req = (const Hvmgr__V1__GetVmRequest *)m;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slot;
	struct store_vm v;
	struct vm_msg vm;
	struct hv_status st2;
	char label[96];
	Hvmgr__V1__GetVmResponse resp = HVMGR__V1__GET_VM_RESPONSE__INIT;

	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, &res->st) == 0) {
		if (vm_msg_merged(ag, &vm, &slot, &res->st) != 0)
			return;
	} else if (res->st.code == HV_NOT_FOUND && req->vm->by_case != HVMGR__V1__VM_SELECTOR__BY_ID &&
		   resolve_stored(ag, req->vm, &v, label, sizeof label, &st2) == 0) {
		vm_msg_from_stored(ag, &vm, &v);
	} else {
		return;
	}
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
}

static void stats_from_slot(Hvmgr__V1__VmStats *v, const struct hvm_vm_slot *s)
{
	Hvmgr__V1__VmStats init = HVMGR__V1__VM_STATS__INIT;

	*v = init;
	v->id = s->id;
	v->name = (char *)s->name;
	v->cpu_time_ns = s->cpu_time_ns;
	v->exits = s->exits;
	v->irqs_injected = s->irqs_injected;
	v->doorbells_denied = s->doorbells_denied;
	v->heartbeat = s->heartbeat;
	v->heartbeat_age_ns = s->heartbeat_age_ns;
	v->fault_count = s->fault_count;
	v->restart_count = s->restart_count;
	v->memory_bytes = s->mem_bytes;
	v->vcpus = s->vcpus;
}

void svc_get_stats(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetStatsRequest *req = (const Hvmgr__V1__GetStatsRequest *)m;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	Hvmgr__V1__VmStats vs[HVM_MAX_VMS];
	Hvmgr__V1__VmStats *ptrs[HVM_MAX_VMS];
	Hvmgr__V1__HypervisorStats hs = HVMGR__V1__HYPERVISOR_STATS__INIT;
	Hvmgr__V1__GetStatsResponse resp = HVMGR__V1__GET_STATS_RESPONSE__INIT;
	struct hvlink_info info;
	uint32_t mask;
	size_t n = 0;
	char label[64];

	if (hvlink_info(ag->link, &info, &res->st) != 0)
		return;
	if (req->vm) {
		if (resolve_vm(ag, req->vm, &slots[0], label, sizeof label, &res->st) != 0)
			return;
		mask = 1;
	} else if (hvlink_read_slots(ag->link, slots, &mask, &res->st) != 0) {
		return;
	}
	for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)))
			continue;
		stats_from_slot(&vs[n], &slots[i]);
		ptrs[n] = &vs[n];
		n++;
	}
	hs.uptime_ns = info.uptime_ns;
	hs.ticks = info.hv_ticks;
	hs.vm_count = info.vm_count;
	hs.pcpu_count = info.pcpu_count;
	hs.events_total = info.ev_head;
	hs.events_overflow = info.ev_overflow;
	resp.hypervisor = &hs;
	resp.n_vms = n;
	resp.vms = ptrs;
	rpc_result_message(res, &resp.base);
}

#define CONSOLE_DEFAULT_MAX (16u * 1024u)
#define CONSOLE_LIMIT (64u * 1024u)

void svc_get_console(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetConsoleRequest *req = (const Hvmgr__V1__GetConsoleRequest *)m;
	struct agent *ag = ctx->app;
	Hvmgr__V1__GetConsoleResponse resp = HVMGR__V1__GET_CONSOLE_RESPONSE__INIT;
	struct hvm_vm_slot slot;
	char label[64];
	size_t cap = req->max_bytes ? req->max_bytes : CONSOLE_DEFAULT_MAX, n;
	uint64_t start, next, lost;

	if (cap > CONSOLE_LIMIT)
		cap = CONSOLE_LIMIT;
	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, &res->st) != 0)
		return;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (hvlink_read_console(ag->link, slot.id, req->from_position, buf, cap, &n, &start, &next, &lost,
				&res->st) == 0) {
		resp.data.data = buf;
		resp.data.len = n;
		resp.start_position = start;
		resp.next_position = next;
		/* from_position 0 means "the oldest byte held": nothing is
		 * lost from the caller's point of view. */
		resp.lost_bytes = req->from_position ? lost : 0;
		rpc_result_message(res, &resp.base);
	}
	free(buf);
}
