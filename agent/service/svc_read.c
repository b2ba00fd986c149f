/*
 * svc_read.c - the read RPCs of hvmgr.v1: ListVms, GetVm, GetStats and
 * GetConsole. ListVms, GetVm and GetConsole answer from the shared region
 * (status slots, console rings) and never submit a command, so they work
 * while a long command runs. GetStats runs hv-core's GET_STATS (MGMT-180)
 * and GET_VIRTIO (MGMT-850) for the full record, as GetVm does GET_VIRTIO
 * when asked for the devices; they wait for the command hv-core is running,
 * never for the state changes queued in the operation queue.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blksup.h"
#include "stats_record.h"
#include "virtio_record.h"
#include "store.h"
#include "store_status.h"

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
		status_from_store(&res->st, &e, "store");
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
	struct virtio_msg devs;
	struct hv_status st2;
	char label[96];
	Hvmgr__V1__GetVmResponse resp = HVMGR__V1__GET_VM_RESPONSE__INIT;
	struct ota_status_msg ota;

	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, &res->st) == 0) {
		if (vm_msg_merged(ag, &vm, &slot, &res->st) != 0)
			return;
		/* with_ota: the A/B slots when hv-core has them (MGMT-613),
		 * waiting at most 100 ms for the command queue; a hypervisor
		 * without OTA leaves the field unset */
		if (req->with_ota &&
		    agent_ota_status_msg(ag, &slot, hv_mono_ns() + 100000000ull, &ota, &st2) == 0)
			resp.ota = &ota.m;
		if (req->with_devices) {
			struct hvm_virtio vr;
			if (agent_virtio_fetch(ag, slot.id, label, 0, &vr, &res->st) < 0)
				return;
			virtio_msg_fill(&devs, &vr);
			blksup_fill_msg(ag->blksup, slot.id, &devs);
			vm.vm.n_virtio_devices = devs.n;
			vm.vm.virtio_devices = devs.ptrs;
		}
	} else if (res->st.code == HV_NOT_FOUND && req->vm->by_case != HVMGR__V1__VM_SELECTOR__BY_ID &&
		   resolve_stored(ag, req->vm, &v, label, sizeof label, &st2) == 0) {
		vm_msg_from_stored(ag, &vm, &v);
	} else {
		return;
	}
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
}

/* One VM's statistics: the slot's identity and configuration (name, vCPUs,
 * memory) and hv-core's GET_STATS record (MGMT-180) for every counter. */
struct stats_msg {
	Hvmgr__V1__VmStats v;
	Hvmgr__V1__ExitsByClass exits;
	char name[HVM_NAME_LEN + 1];
	char image_version[HVM_VERSION_LEN + 1];
	struct virtio_msg virtio;
};

static void stats_fill(struct stats_msg *m, const struct hvm_vm_slot *s, const struct hvm_stats *r)
{
	Hvmgr__V1__VmStats init = HVMGR__V1__VM_STATS__INIT;
	Hvmgr__V1__ExitsByClass einit = HVMGR__V1__EXITS_BY_CLASS__INIT;
	Hvmgr__V1__VmStats *v = &m->v;

	*v = init;
	m->exits = einit;
	memcpy(m->name, s->name, HVM_NAME_LEN);
	m->name[HVM_NAME_LEN] = '\0';
	v->id = s->id;
	v->name = m->name;
	memcpy(m->image_version, s->image_version, HVM_VERSION_LEN);
	m->image_version[HVM_VERSION_LEN] = '\0';
	v->image_version = m->image_version;
	v->health_code = s->health_code;
	v->criticality = s->criticality;
	v->memory_bytes = s->mem_bytes;
	v->vcpus = s->vcpus;
	v->state = (Hvmgr__V1__VmState)r->state;
	v->stats_time_ns = r->time_ns;
	v->cpu_time_ns = r->cpu_time_ns;
	v->exits = r->exits;
	m->exits.wfx = r->exits_by_class[HVM_EXIT_WFX];
	m->exits.hvc = r->exits_by_class[HVM_EXIT_HVC];
	m->exits.smc = r->exits_by_class[HVM_EXIT_SMC];
	m->exits.dabt = r->exits_by_class[HVM_EXIT_DABT];
	m->exits.iabt = r->exits_by_class[HVM_EXIT_IABT];
	m->exits.sysreg = r->exits_by_class[HVM_EXIT_SYSREG];
	m->exits.irq = r->exits_by_class[HVM_EXIT_IRQ];
	m->exits.other = r->exits_by_class[HVM_EXIT_OTHER];
	v->exits_by_class = &m->exits;
	v->irqs_injected = r->irqs_injected;
	v->faults = r->faults;
	v->faults_ignored = r->faults_ignored;
	v->watchdog_expiries = r->watchdog_expiries;
	v->restarts = r->restarts;
	v->doorbells_sent = r->doorbells_sent;
	v->doorbells_received = r->doorbells_received;
	v->doorbells_denied = r->doorbells_denied;
	v->heartbeat = r->heartbeat;
	v->heartbeat_age_ns = r->heartbeat_age_ns;
	/* The slot's 32-bit counters, kept for older clients (same values). */
	v->fault_count = (uint32_t)r->faults;
	v->restart_count = (uint32_t)r->restarts;
}

/* Runs a record command (GET_STATS, GET_VIRTIO) for VM `id` into buf: 1 with
 * *rep, 0 when the VM is gone and `gone_ok`, -1 with st. It goes straight to
 * hvlink's command queue, not through the operation queue (agent_op_enter): a
 * read waits for the one command hv-core runs (MGMT-111), never for state
 * changes queued behind it. */
static int fetch_record(struct agent *ag, uint32_t cmd, uint32_t id, const char *what, int gone_ok,
			void *buf, size_t cap, struct hvlink_reply *rep, struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = cmd, .vm_id = id };

	c.data_out = buf;
	c.data_out_cap = cap;
	switch (core_submit(ag->link, &c, rep, what, st)) {
	case CORE_OK:
		return 1;
	case CORE_REFUSED:
		if (rep->status == HVM_E_BAD_VM && gone_ok) {
			hv_status_ok(st);
			return 0;
		}
		return -1;
	case CORE_NO_ANSWER:
		break;
	}
	return -1;
}

/* GET_STATS for VM `id` (agent.h). */
int agent_stats_fetch(struct agent *ag, uint32_t id, const char *label, int gone_ok,
		      struct hvm_stats *out, struct hv_status *st)
{
	struct hvlink_reply rep;
	uint8_t buf[sizeof(struct hvm_stats)];
	char what[96];

	snprintf(what, sizeof what, "stats %s", label);
	int rc = fetch_record(ag, HVM_CMD_GET_STATS, id, what, gone_ok, buf, sizeof buf, &rep, st);
	if (rc <= 0)
		return rc;
	return stats_record_check(buf, sizeof buf, rep.ret[0], id, out, st) == 0 ? 1 : -1;
}

/* GET_VIRTIO for VM `id` (agent.h). */
int agent_virtio_fetch(struct agent *ag, uint32_t id, const char *label, int gone_ok,
		       struct hvm_virtio *out, struct hv_status *st)
{
	struct hvlink_reply rep;
	struct hvlink_info info;
	uint8_t buf[sizeof(struct hvm_virtio)];
	char what[96];

	memset(out, 0, sizeof *out);
	if (hvlink_info(ag->link, &info, st) != 0)
		return -1;
	if (!(info.caps & HVM_CAP(HVM_CMD_GET_VIRTIO))) {
		out->vm_id = id; /* an hv-core before ABI 2.3: no devices to show */
		return 1;
	}
	snprintf(what, sizeof what, "virtio devices of %s", label);
	int rc = fetch_record(ag, HVM_CMD_GET_VIRTIO, id, what, gone_ok, buf, sizeof buf, &rep, st);
	if (rc <= 0)
		return rc;
	return virtio_record_check(buf, sizeof buf, rep.ret[0], rep.ret[1], id, out, st) == 0 ? 1
											      : -1;
}

void svc_get_stats(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetStatsRequest *req = (const Hvmgr__V1__GetStatsRequest *)m;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct stats_msg *vs = NULL;
	Hvmgr__V1__VmStats *ptrs[HVM_MAX_VMS];
	Hvmgr__V1__HypervisorStats hs = HVMGR__V1__HYPERVISOR_STATS__INIT;
	Hvmgr__V1__GetStatsResponse resp = HVMGR__V1__GET_STATS_RESPONSE__INIT;
	struct hvlink_info info;
	uint32_t mask;
	size_t n = 0;
	char label[64];

	if (hvlink_info(ag->link, &info, &res->st) != 0)
		return;
	if (resolve_slots(ag, req->vm, slots, &mask, label, sizeof label, &res->st) != 0)
		return;
	vs = calloc(HVM_MAX_VMS, sizeof *vs);
	if (!vs) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
		struct hvm_stats rec;
		char vlabel[HVM_NAME_LEN + 8];

		if (!(mask & (1u << i)))
			continue;
		snprintf(vlabel, sizeof vlabel, "'%.*s'", (int)HVM_NAME_LEN, slots[i].name);
		/* A VM undefined between the slot read and its GET_STATS is left
		 * out of a listing; a VM the caller named is an error. */
		int rc = agent_stats_fetch(ag, slots[i].id, req->vm ? label : vlabel, !req->vm,
					   &rec, &res->st);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		struct hvm_virtio vr;
		rc = agent_virtio_fetch(ag, slots[i].id, req->vm ? label : vlabel, !req->vm, &vr,
					&res->st);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		stats_fill(&vs[n], &slots[i], &rec);
		virtio_msg_fill(&vs[n].virtio, &vr);
		blksup_fill_msg(ag->blksup, slots[i].id, &vs[n].virtio);
		vs[n].v.n_virtio_devices = vs[n].virtio.n;
		vs[n].v.virtio_devices = vs[n].virtio.ptrs;
		ptrs[n] = &vs[n].v;
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
out:
	free(vs);
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
	if (agent_require_guest_view(ag, ctx->peer, "console contents", &res->st) != 0)
		return;
	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, &res->st) != 0)
		return;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (hvlink_read_console(ag->link, slot.id, req->from_position, buf, cap, &n, &start, &next,
				&lost, &res->st) == 0) {
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
