/*
 * svc_diag.c - the diagnostic RPCs of hvmgr.v1: GetFaults (saved fault
 * context, REQ-SAF-22), GetSelfTest (REQ-SAF-02/03), GetDiagnostics (the link,
 * the agent itself, its queues and listeners) and GetVersion with
 * capabilities.
 */
#include "agent.h"
#include "audit_anchor.h"
#include "reconcile.h"
#include "store.h"
#include "uuid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_status.h"

static void fault_msg(Hvmgr__V1__Fault *f, const struct hvm_fault *r, const struct hvm_vm_slot *s,
		      uint64_t *xs, bool redact)
{
	Hvmgr__V1__Fault init = HVMGR__V1__FAULT__INIT;

	*f = init;
	f->vm_id = s->id;
	f->vm_name = (char *)s->name;
	f->kind = (Hvmgr__V1__FaultKind)r->kind;
	f->seq = r->seq;
	f->time_ns = r->time_ns;
	f->vcpu = r->vcpu;
	f->action = r->action;
	f->fault_count = s->fault_count;
	if (redact) {
		f->registers_redacted = true;
		return;
	}
	f->esr = r->esr;
	f->far = r->far;
	f->hpfar = r->hpfar;
	f->elr = r->elr;
	f->spsr = r->spsr;
	f->sp_el1 = r->sp_el1;
	memcpy(xs, r->x, sizeof r->x);
	f->n_x = 31;
	f->x = xs;
}

#define HISTORY_DEFAULT 100u
#define HISTORY_MAX 1000u

/* The persisted fault history (faultlog.c) into resp; rows of faults of
 * other VMs than `vm` (when not NULL) left out. 0, or -1 with res set. */
static int fault_history(struct agent *ag, uint32_t max, const char *vm,
			 Hvmgr__V1__GetFaultsResponse *resp, struct store_audit_entry **rows_out,
			 Hvmgr__V1__FaultHistoryEntry **ents_out, struct rpc_result *res)
{
	struct store_audit_entry *rows = NULL;
	struct store_err e;
	size_t n = 0, k = 0;
	char want[HVM_NAME_LEN + 8];

	if (!ag->store)
		return 0;
	if (store_fault_history(ag->store, max ? max : HISTORY_DEFAULT, &rows, &n, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "fault history");
		return -1;
	}
	*rows_out = rows;
	Hvmgr__V1__FaultHistoryEntry *ents = n ? calloc(n, sizeof *ents) : NULL;
	Hvmgr__V1__FaultHistoryEntry **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
	*ents_out = ents;
	if (n && (!ents || !ptrs)) {
		free(ptrs);
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return -1;
	}
	snprintf(want, sizeof want, " vm=%s ", vm ? vm : "");
	for (size_t i = 0; i < n; i++) {
		Hvmgr__V1__FaultHistoryEntry init = HVMGR__V1__FAULT_HISTORY_ENTRY__INIT;
		Hvmgr__V1__FaultHistoryEntry *h = &ents[k];
		static const char nil[] = "";
		*h = init;
		h->audit_seq = rows[i].seq;
		h->time_ms = rows[i].time_ms;
		h->detail = (char *)rows[i].outcome;
		h->kind = (char *)nil;
		h->vm_uuid = (char *)nil;
		if (!strcmp(rows[i].rpc, STORE_FAULT_RPC)) {
			/* args "vm=<uuid> kind=<kind> count=<n>", in place: the
			 * row's strings are ours until freed. */
			char *a = (char *)rows[i].args, *kp = strstr(a, " kind="),
			     *cp = strstr(a, " count=");
			if (vm && !strstr(rows[i].outcome, want))
				continue;
			h->record = "fault";
			if (!strncmp(a, "vm=", 3) && kp && cp && kp < cp) {
				*kp = '\0';
				*cp = '\0';
				h->vm_uuid = a + 3;
				h->kind = kp + 6;
				h->count = strtoull(cp + 7, NULL, 10);
			}
		} else {
			h->record = !strcmp(rows[i].rpc, STORE_FAULT_GAP_RPC) ? "gap" : "mark";
		}
		ptrs[k++] = h;
	}
	resp->n_history = k;
	resp->history = ptrs;
	return 0;
}

/* What retention folded (store_fault_folded) into resp->folded: the counts
 * of VM `uuid` only when given. The messages live in *fold (free with
 * folded_free). 0, or -1 with res set. */
struct folded {
	struct store_fold_summary sum;
	Hvmgr__V1__FoldedFaultHistory msg;
	Hvmgr__V1__FoldedFaultCount *counts, **ptrs;
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	char names[HVM_MAX_VMS][HVM_NAME_LEN + 1];
};

static void folded_free(struct folded *f)
{
	if (!f)
		return;
	store_fold_summary_free(&f->sum);
	free(f->counts);
	free(f->ptrs);
}

static int fault_folded(struct agent *ag, const char *uuid, Hvmgr__V1__GetFaultsResponse *resp,
			struct folded *f, struct rpc_result *res)
{
	struct store_err e;
	struct hv_status st;
	uint32_t mask = 0;
	bool found = false;

	if (!ag->store)
		return 0;
	if (store_fault_folded(ag->store, &f->sum, &found, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "fault history folded by retention");
		return -1;
	}
	if (!found)
		return 0;
	if (f->sum.n_faults) {
		f->counts = calloc(f->sum.n_faults, sizeof *f->counts);
		f->ptrs = calloc(f->sum.n_faults, sizeof *f->ptrs);
		if (!f->counts || !f->ptrs) {
			rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
			return -1;
		}
	}
	/* Names of the VMs hv-core has now, for the reader. */
	if (hvlink_read_slots(ag->link, f->slots, &mask, &st) != 0)
		mask = 0;
	Hvmgr__V1__FoldedFaultHistory init = HVMGR__V1__FOLDED_FAULT_HISTORY__INIT;
	f->msg = init;
	f->msg.first_audit_seq = f->sum.first_seq;
	f->msg.last_audit_seq = f->sum.last_seq;
	f->msg.time_ms = f->sum.time_ms;
	f->msg.audit_rows = f->sum.last_seq - f->sum.first_seq + 1;
	f->msg.fault_rows = f->sum.fault_rows;
	f->msg.gap_rows = f->sum.gap_rows;
	f->msg.mark_rows = f->sum.mark_rows;
	size_t k = 0;
	for (size_t i = 0; i < f->sum.n_faults; i++) {
		const struct store_fold_fault *c = &f->sum.faults[i];
		Hvmgr__V1__FoldedFaultCount ci = HVMGR__V1__FOLDED_FAULT_COUNT__INIT;
		if (uuid && strcmp(uuid, c->vm_uuid) != 0)
			continue;
		f->counts[k] = ci;
		f->counts[k].vm_uuid = (char *)c->vm_uuid;
		f->counts[k].kind = (char *)c->kind;
		f->counts[k].count = c->count;
		f->counts[k].vm_name = (char *)"";
		for (unsigned v = 0; v < HVM_MAX_VMS; v++) {
			char u[HV_UUID_STR_LEN];
			if (!(mask & (1u << v)))
				continue;
			hv_uuid_format(f->slots[v].uuid, u);
			if (!strcmp(u, c->vm_uuid)) {
				memcpy(f->names[v], f->slots[v].name, HVM_NAME_LEN);
				f->names[v][HVM_NAME_LEN] = '\0';
				f->counts[k].vm_name = f->names[v];
			}
		}
		f->ptrs[k] = &f->counts[k];
		k++;
	}
	f->msg.n_counts = k;
	f->msg.counts = f->ptrs;
	resp->folded = &f->msg;
	return 0;
}

/* hv-core's ring of VM `s`'s recent faults (MGMT-330) appended to out[*n]
 * (room for HVM_FAULT_HISTORY more). A hv-core without the command adds
 * nothing; 0, or -1 with st. */
static int recent_faults(struct agent *ag, const struct hvm_vm_slot *s, bool redact,
			 Hvmgr__V1__RecentFault *out, size_t *n, struct hv_status *st)
{
	struct hvlink_info info;
	struct hvlink_cmd c;
	struct hvlink_reply rep;
	char what[HVM_NAME_LEN + 48];

	if (hvlink_info(ag->link, &info, st) != 0)
		return -1;
	if (!(info.caps & HVM_CAP(HVM_CMD_READ_FAULT_HISTORY)))
		return 0;
	/* On the heap, not in every thread's TLS (docs/performance.md). */
	struct hvm_fault_history *hp = calloc(1, sizeof *hp);
	if (!hp)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	const struct hvm_fault_history *const h = hp;
	memset(&c, 0, sizeof c);
	c.cmd = HVM_CMD_READ_FAULT_HISTORY;
	c.vm_id = s->id;
	c.data_out = hp;
	c.data_out_cap = sizeof *hp;
	snprintf(what, sizeof what, "fault history of VM %u", s->id);
	if (core_submit(ag->link, &c, &rep, what, st) != CORE_OK) {
		free(hp);
		return -1;
	}
	if (h->magic != HVM_FHIST_MAGIC || h->version != HVM_FHIST_VERSION ||
	    h->entry_size != sizeof(struct hvm_fault_entry) || h->count > HVM_FAULT_HISTORY) {
		hv_status_set(st, HV_INTERNAL,
			      "%s: malformed record (magic 0x%08x, version %u, %u entries)", what,
			      h->magic, h->version, h->count);
		free(hp);
		return -1;
	}
	for (unsigned i = 0; i < h->count; i++) {
		Hvmgr__V1__RecentFault init = HVMGR__V1__RECENT_FAULT__INIT;
		Hvmgr__V1__RecentFault *r = &out[(*n)++];
		const struct hvm_fault_entry *e = &h->entry[i];
		*r = init;
		r->vm_id = s->id;
		r->vm_name = (char *)s->name;
		r->fault_seq = e->fault_seq;
		r->time_ns = e->time_ns;
		r->event_seq = e->event_seq;
		r->kind = (Hvmgr__V1__FaultKind)e->kind;
		r->action = e->action;
		r->vcpu = e->vcpu;
		r->total = h->total;
		r->registers_redacted = redact;
		if (!redact) {
			r->esr = e->esr;
			r->far = e->far;
			r->hpfar = e->hpfar;
			r->elr = e->elr;
		}
	}
	free(hp);
	return 0;
}

void svc_get_faults(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetFaultsRequest *req = (const Hvmgr__V1__GetFaultsRequest *)m;
	struct agent *ag = ctx->app;
	/* hv-core's slots and fault records: on the heap, not in every thread's
	 * TLS (docs/performance.md). */
	struct fault_reads {
		struct hvm_vm_slot slots[HVM_MAX_VMS];
		struct hvm_fault recs[HVM_MAX_VMS];
		uint64_t xs[HVM_MAX_VMS][31];
	} *big = NULL;
	Hvmgr__V1__Fault fs[HVM_MAX_VMS];
	Hvmgr__V1__Fault *ptrs[HVM_MAX_VMS];
	Hvmgr__V1__GetFaultsResponse resp = HVMGR__V1__GET_FAULTS_RESPONSE__INIT;
	uint32_t mask;
	size_t n = 0;
	char label[64];
	struct hv_status why;
	/* A viewer sees that a VM faulted, how and when, not the guest's
	 * registers. */
	bool redact = agent_require_guest_view(ag, ctx->peer, "guest registers", &why) != 0;

	struct store_audit_entry *rows = NULL;
	Hvmgr__V1__FaultHistoryEntry *ents = NULL;
	const char *vm = NULL;
	char vmname[HVM_NAME_LEN + 1];
	Hvmgr__V1__RecentFault *recent = NULL, **rptrs = NULL;
	size_t nrecent = 0;
	struct folded *fold = NULL;
	/* the VM asked for, for the folded counts; "" = all (or hv-core down) */
	char vm_uuid[HV_UUID_STR_LEN] = "";

	if (req->history_max > HISTORY_MAX) {
		rpc_result_error(res, HV_INVALID_ARGUMENT, "history_max is at most %u (got %u)",
				 HISTORY_MAX, req->history_max);
		return;
	}
	big = calloc(1, sizeof *big);
	if (!big) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	struct hvm_vm_slot *const slots = big->slots;
	struct hvm_fault *const recs = big->recs;
	if (resolve_slots(ag, req->vm, slots, &mask, label, sizeof label, &res->st) != 0) {
		/* hv-core down: the persisted history still answers, for all
		 * VMs or one named by name. */
		if (res->st.code != HV_UNAVAILABLE ||
		    (req->vm && req->vm->by_case != HVMGR__V1__VM_SELECTOR__BY_NAME))
			goto out;
		hv_status_ok(&res->st);
		mask = 0;
		if (req->vm)
			vm = req->vm->name;
	} else if (req->vm) {
		memcpy(vmname, slots[0].name, HVM_NAME_LEN);
		vmname[HVM_NAME_LEN] = '\0';
		vm = vmname;
		hv_uuid_format(slots[0].uuid, vm_uuid);
	}
	fold = calloc(1, sizeof *fold);
	if (!fold) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	if (req->recent && mask) {
		recent = calloc((size_t)HVM_MAX_VMS * HVM_FAULT_HISTORY, sizeof *recent);
		rptrs = calloc((size_t)HVM_MAX_VMS * HVM_FAULT_HISTORY, sizeof *rptrs);
		if (!recent || !rptrs) {
			rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
			goto out;
		}
	}
	for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (hvlink_read_fault(ag->link, slots[i].id, &recs[n], &res->st) != 0)
			goto out;
		/* A VM that never faulted has no record; asked by name, it
		 * still answers with an empty list rather than an error. */
		if (req->recent &&
		    recent_faults(ag, &slots[i], redact, recent, &nrecent, &res->st) != 0)
			goto out;
		if (recs[n].kind == HVM_F_NONE)
			continue;
		fault_msg(&fs[n], &recs[n], &slots[i], big->xs[n], redact);
		ptrs[n] = &fs[n];
		n++;
	}
	resp.n_faults = n;
	resp.faults = ptrs;
	for (size_t i = 0; i < nrecent; i++)
		rptrs[i] = &recent[i];
	resp.n_recent = nrecent;
	resp.recent = rptrs;
	if (fault_history(ag, req->history_max, vm, &resp, &rows, &ents, res) == 0 &&
	    fault_folded(ag, vm_uuid[0] ? vm_uuid : NULL, &resp, fold, res) == 0)
		rpc_result_message(res, &resp.base);
out:
	free(big);
	folded_free(fold);
	free(fold);
	free(recent);
	free(rptrs);
	free(resp.history);
	free(ents);
	store_audit_list_free(rows);
}

void svc_get_self_test(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		       struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	struct hvlink_info info;
	struct hvlink_cmd c;
	struct hvlink_reply rep;
	Hvmgr__V1__GetSelfTestResponse resp = HVMGR__V1__GET_SELF_TEST_RESPONSE__INIT;

	if (hvlink_info(ag->link, &info, &res->st) != 0)
		return;
	resp.hypervisor_state = (Hvmgr__V1__HypervisorState)info.hv_state;
	resp.failed_mask = info.selftest_failed;
	/* SELFTEST_RESULT also tells how many checks ran; without it the
	 * register page's mask is still the authoritative answer. */
	if (info.caps & HVM_CAP(HVM_CMD_SELFTEST_RESULT)) {
		memset(&c, 0, sizeof c);
		c.cmd = HVM_CMD_SELFTEST_RESULT;
		if (core_submit(ag->link, &c, &rep, "self-test result", &res->st) != CORE_OK)
			return;
		resp.failed_mask = (uint32_t)rep.ret[0];
		resp.checks_run = (uint32_t)rep.ret[1];
	}
	resp.passed = resp.failed_mask == 0 && info.hv_state != HVM_HV_SELFTEST_FAILED;
	rpc_result_message(res, &resp.base);
}

/* hv-agent has three listeners at most (read-write, read-only, TLS). */
#define DIAG_LISTENERS_MAX 8

static const char *listener_kind_name(enum rpc_listener_kind k)
{
	switch (k) {
	case RPC_LISTENER_UNIX_RW:
		return "unix-rw";
	case RPC_LISTENER_UNIX_RO:
		return "unix-ro";
	case RPC_LISTENER_TCP_MTLS:
		return "tls";
	case RPC_LISTENER_FLEET:
		return "fleet";
	}
	return "unknown";
}

static Hvmgr__V1__QueueCounters *queue_msg(Hvmgr__V1__QueueCounters *m,
					   const struct hv_opqueue_stats *s)
{
	Hvmgr__V1__QueueCounters init = HVMGR__V1__QUEUE_COUNTERS__INIT;

	*m = init;
	m->full = s->full;
	m->expired = s->expired;
	m->stopped = s->stopped;
	m->waiting = s->waiting;
	m->peak = s->peak;
	m->max = s->max;
	return m;
}

void svc_get_diagnostics(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			 struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	Hvmgr__V1__GetDiagnosticsResponse resp = HVMGR__V1__GET_DIAGNOSTICS_RESPONSE__INIT;
	struct hvlink_info info;
	struct hvlink_counters cnt;
	struct eventlog_stats es;
	struct hv_status st;
	char err[HV_STATUS_MSG_LEN];

	err[0] = '\0';
	if (hvlink_info(ag->link, &info, &st) == 0) {
		resp.link_up = 1;
		resp.hypervisor_state = (Hvmgr__V1__HypervisorState)info.hv_state;
		resp.hypervisor_alive = agent_hv_alive(ag, info.hv_ticks);
		resp.hypervisor_uptime_ns = info.uptime_ns;
		resp.hypervisor_ticks = info.hv_ticks;
		resp.events_head = info.ev_head;
		resp.events_acked = info.ev_ack;
		resp.events_overflow = info.ev_overflow;
	} else {
		snprintf(err, sizeof err, "%s", st.msg);
	}
	resp.link_error = err;
	hvlink_counters(ag->link, &cnt);
	resp.commands_sent = cnt.commands_sent;
	resp.commands_failed = cnt.commands_failed;
	resp.commands_timed_out = cnt.commands_timed_out;
	if (ag->events) {
		eventlog_stats(ag->events, &es);
		resp.events_lost_by_agent = es.lost;
	}
	resp.agent_uptime_ns = hv_mono_ns() - ag->started_ns;
	resp.ram_file = (char *)ag->ram_file;
	resp.mgmt_base = ag->mgmt_base;
	resp.database = (char *)(ag->db_path ? ag->db_path : "");
	resp.audit_failures = __atomic_load_n(&ag->audit_failures, __ATOMIC_RELAXED);
	resp.audit_refusals_suppressed = agent_audit_suppressed(ag);
	struct store_err finding;
	if (ag->store && store_audit_tampered(ag->store, &finding))
		resp.audit_finding = finding.msg;
	char anchor[AUDIT_ANCHOR_STATE_LEN];
	audit_anchor_describe(ag->anchor, anchor, sizeof anchor);
	resp.audit_anchor = anchor;

	/* The two queues: hv-core's register interface and the operations. */
	Hvmgr__V1__QueueCounters cq, oq;
	struct hv_opqueue_stats qs;
	hvlink_queue_stats(ag->link, &qs);
	resp.command_queue = queue_msg(&cq, &qs);
	hv_opqueue_stats(&ag->ops, &qs);
	resp.operation_queue = queue_msg(&oq, &qs);

	/* Each listener's counters (rpc_server_counters). */
	struct rpc_listener_counters lc[DIAG_LISTENERS_MAX];
	Hvmgr__V1__ListenerCounters lm[DIAG_LISTENERS_MAX], *lp[DIAG_LISTENERS_MAX];
	size_t nl = ag->srv ? rpc_server_counters(ag->srv, lc, DIAG_LISTENERS_MAX) : 0;
	for (size_t i = 0; i < nl; i++) {
		Hvmgr__V1__ListenerCounters init = HVMGR__V1__LISTENER_COUNTERS__INIT;
		lm[i] = init;
		lm[i].address = (char *)(lc[i].addr ? lc[i].addr : "");
		lm[i].kind = (char *)listener_kind_name(lc[i].kind);
		lm[i].calls = lc[i].calls;
		lm[i].refused = lc[i].refused;
		lm[i].expired = lc[i].expired;
		lm[i].handled = lc[i].handled;
		lm[i].threads = lc[i].threads;
		lp[i] = &lm[i];
	}
	resp.n_listeners = nl;
	resp.listeners = lp;

	/* Reconciliation: what the last pass left unmanaged or undefined. */
	/* On the heap, not in every thread's TLS (docs/performance.md). */
	struct diag_reads {
		struct reconcile_stats rs;
		struct hvm_vm_slot slots[HVM_MAX_VMS];
	} *big = calloc(1, sizeof *big);
	if (!big) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	struct reconcile_stats *const rs = &big->rs;
	struct hvm_vm_slot *const slots = big->slots;
	char *unmanaged[HVM_MAX_VMS], *inactive[RECONCILE_LIST_MAX];
	uint32_t mask;
	size_t nu = 0;
	if (resp.link_up && hvlink_read_slots(ag->link, slots, &mask, &st) == 0) {
		/* Now, not as of the last pass: hv-core's VMs the store lacks. */
		for (unsigned i = 0; i < HVM_MAX_VMS; i++) {
			struct store_vm v;
			if ((mask & (1u << i)) && store_vm_for_slot(ag, &slots[i], &v, &st) == 0)
				unmanaged[nu++] = slots[i].name;
		}
	}
	resp.n_unmanaged_vms = nu;
	resp.unmanaged_vms = unmanaged;
	if (ag->reconcile) {
		reconcile_stats(ag->reconcile, rs);
		for (size_t i = 0; i < rs->n_inactive; i++)
			inactive[i] = rs->inactive[i];
		resp.reconciliations = rs->runs;
		resp.last_reconciliation = rs->last;
		resp.n_inactive_vms = rs->n_inactive;
		resp.inactive_vms = inactive;
	}
	rpc_result_message(res, &resp.base);
	free(big);
}

void svc_get_version(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	static const char *const agent_caps[] = {
		"agent.watch-events", "agent.read-only-socket", "agent.health",
		"agent.store",        "agent.reconcile",        "agent.audit",
	};
	struct agent *ag = ctx->app;
	Hvmgr__V1__GetVersionResponse resp = HVMGR__V1__GET_VERSION_RESPONSE__INIT;
	char *caps[HVM_CMD__COUNT + sizeof agent_caps / sizeof agent_caps[0]];
	char names[HVM_CMD__COUNT][32]; /* "get_info": hv-core's names (MGMT-020), lower case */
	struct hvlink_info info;
	struct hv_status st;
	size_t n = 0;

	resp.agent_version = HV_VERSION;
	resp.api = "hvmgr.v1";
	resp.hypervisor_version = "";
	if (hvlink_info(ag->link, &info, &st) == 0) {
		resp.hypervisor_version = info.hv_version;
		resp.abi_major = info.abi_major;
		resp.abi_minor = info.abi_minor;
		for (unsigned i = 0; i < HVM_CMD__COUNT; i++) {
			const char *name = hvm_cmd_name(i);
			if (!(info.caps & HVM_CAP(i)) || !name)
				continue;
			size_t k = 0;
			for (; name[k] && k + 1 < sizeof names[i]; k++)
				names[i][k] = (char)tolower((unsigned char)name[k]);
			names[i][k] = 0;
			caps[n++] = names[i];
		}
	}
	for (size_t i = 0; i < sizeof agent_caps / sizeof agent_caps[0]; i++)
		caps[n++] = (char *)agent_caps[i];
	resp.n_capabilities = n;
	resp.capabilities = caps;
	rpc_result_message(res, &resp.base);
}
