/*
 * svc_config.c - stored configurations and autostart in hvmgr.v1 (REQ-PRD-04):
 * GetConfig and ListConfigRevisions read the store's revision history;
 * RollbackConfig stores a copy of an earlier revision as the newest one and
 * defines it in hv-core (the VM must be shut off); SetAutostart records
 * whether reconciliation starts the VM when hv-core (re)starts.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_status.h"

static void rev_msg(Hvmgr__V1__ConfigRevision *m, struct store_config_rev *r, size_t len)
{
	Hvmgr__V1__ConfigRevision init = HVMGR__V1__CONFIG_REVISION__INIT;

	*m = init;
	m->revision = r->rev;
	m->author = r->author;
	m->time_ms = r->time_ms;
	m->sha256.data = r->sha256;
	m->sha256.len = sizeof r->sha256;
	m->size = (uint32_t)len;
	m->rolled_back_from = r->rollback_of;
}

/* The stored VM with at least one revision, or an error naming it. */
static int stored_with_config(struct agent *ag, const Hvmgr__V1__VmSelector *sel,
			      struct store_vm *v, char *label, size_t len, struct rpc_result *res)
{
	if (resolve_stored(ag, sel, v, label, len, &res->st) != 0)
		return -1;
	if (v->latest_rev == 0)
		return rpc_result_error(res, HV_NOT_FOUND, "VM %s has no stored configuration",
					label);
	return 0;
}

/* A revision of the VM, with the same message for a missing revision
 * everywhere: NOT_FOUND naming the revision and the newest one. */
static int get_rev(struct agent *ag, const struct store_vm *v, uint32_t rev,
		   struct store_config_rev *out, struct rpc_result *res)
{
	struct store_err e;

	memset(out, 0, sizeof out[0]);
	if (rev > v->latest_rev)
		return rpc_result_error(res, HV_NOT_FOUND,
					"VM '%s' has no configuration revision %u (the newest is %u)",
					v->name, rev, v->latest_rev);
	if (store_config_get(ag->store, v->name, rev, out, &e) != STORE_OK)
		return status_from_store(&res->st, &e, "stored configuration");
	return 0;
}

void svc_get_config(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetConfigRequest *req = (const Hvmgr__V1__GetConfigRequest *)m;
	struct agent *ag = ctx->app;
	Hvmgr__V1__GetConfigResponse resp = HVMGR__V1__GET_CONFIG_RESPONSE__INIT;
	Hvmgr__V1__ConfigRevision rm;
	struct store_config_rev r;
	struct store_vm v;
	char label[96];

	if (stored_with_config(ag, req->vm, &v, label, sizeof label, res) != 0 ||
	    get_rev(ag, &v, req->revision, &r, res) != 0)
		return;
	rev_msg(&rm, &r, r.len);
	resp.revision = &rm;
	resp.config_dtb.data = r.blob;
	resp.config_dtb.len = r.len;
	rpc_result_message(res, &resp.base);
	store_config_rev_free(&r);
}

void svc_list_config_revisions(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			       struct rpc_result *res)
{
	const Hvmgr__V1__ListConfigRevisionsRequest *req =
		(const Hvmgr__V1__ListConfigRevisionsRequest *)m;
	struct agent *ag = ctx->app;
	Hvmgr__V1__ListConfigRevisionsResponse resp = HVMGR__V1__LIST_CONFIG_REVISIONS_RESPONSE__INIT;
	struct store_config_rev *hist = NULL;
	struct store_err e;
	struct store_vm v;
	char label[96];
	size_t n = 0;

	if (resolve_stored(ag, req->vm, &v, label, sizeof label, &res->st) != 0)
		return;
	if (store_config_history(ag->store, v.name, &hist, &n, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "configuration history");
		return;
	}
	Hvmgr__V1__ConfigRevision *ms = n ? calloc(n, sizeof *ms) : NULL;
	Hvmgr__V1__ConfigRevision **ps = n ? calloc(n, sizeof *ps) : NULL;
	if (n && (!ms || !ps)) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		/* The history carries no sizes; each blob's length is read (and
		 * its hash checked) with the revision itself. */
		struct store_config_rev full;
		size_t len = 0;
		if (store_config_get(ag->store, v.name, hist[i].rev, &full, &e) != STORE_OK) {
			status_from_store(&res->st, &e, "stored configuration");
			goto out;
		}
		len = full.len;
		store_config_rev_free(&full);
		rev_msg(&ms[i], &hist[i], len);
		ps[i] = &ms[i];
	}
	resp.n_revisions = n;
	resp.revisions = ps;
	rpc_result_message(res, &resp.base);
out:
	free(ms);
	free(ps);
	store_config_history_free(hist);
}

static void rollback_locked(const struct rpc_call_ctx *ctx,
			    const Hvmgr__V1__RollbackConfigRequest *req, struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	struct agent_caller caller;
	struct store_config_rev r, now;
	struct store_vm v;
	struct hvm_vm_slot slot;
	struct vm_msg vm;
	Hvmgr__V1__ConfigRevision rm;
	Hvmgr__V1__RollbackConfigResponse resp = HVMGR__V1__ROLLBACK_CONFIG_RESPONSE__INIT;
	struct store_err e;
	char label[96];
	uint32_t rev, id;

	if (req->revision == 0) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "rollback: name the revision to go back to (1, 2, ...)");
		return;
	}
	if (stored_with_config(ag, req->vm, &v, label, sizeof label, res) != 0 ||
	    get_rev(ag, &v, req->revision, &r, res) != 0)
		return;
	store_config_rev_free(&r);
	agent_caller(ag, ctx->peer, &caller);
	if (agent_set_config(ag, v.name, NULL, 0, req->revision, caller.name, &rev, &id, &res->st) !=
	    0)
		return;
	log_info("rollback '%s' to revision %u: stored as revision %u, defined as id %u", v.name,
		 req->revision, rev, id);
	if (hvlink_read_slot(ag->link, id, &slot, &res->st) != 0 ||
	    vm_msg_merged(ag, &vm, &slot, &res->st) != 0)
		return;
	if (store_config_get(ag->store, v.name, rev, &now, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "stored configuration");
		return;
	}
	rev_msg(&rm, &now, now.len);
	resp.revision = &rm;
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
	store_config_rev_free(&now);
}

void svc_rollback_config(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			 struct rpc_result *res)
{
	const Hvmgr__V1__RollbackConfigRequest *req = (const Hvmgr__V1__RollbackConfigRequest *)m;
	struct agent *ag = ctx->app;
	char args[160];

	audit_selector(req->vm, args, sizeof args);
	snprintf(args + strlen(args), sizeof args - strlen(args), " revision=%u", req->revision);
	if (agent_op_enter(ag, "RollbackConfig", &res->st) == 0) {
		rollback_locked(ctx, req, res);
		agent_op_leave(ag);
	}
	agent_audit(ag, ctx->peer, "RollbackConfig", args, &res->st);
}

static void autostart_locked(struct agent *ag, const Hvmgr__V1__SetAutostartRequest *req,
			     struct rpc_result *res)
{
	Hvmgr__V1__SetAutostartResponse resp = HVMGR__V1__SET_AUTOSTART_RESPONSE__INIT;
	struct store_err e;
	struct store_vm v;
	struct hvm_vm_slot slot;
	struct vm_msg vm;
	char label[96];
	struct hv_status st;

	if (resolve_stored(ag, req->vm, &v, label, sizeof label, &res->st) != 0) {
		if (res->st.code == HV_NOT_FOUND &&
		    resolve_vm(ag, req->vm, &slot, label, sizeof label, &st) == 0)
			rpc_result_error(res, HV_FAILED_PRECONDITION,
					 "VM '%s' is not managed by hv-agent (hv-core's boot configuration or another client defined it): set autostart in its configuration there",
					 slot.name);
		return;
	}
	if (store_vm_set_autostart(ag->store, v.name, req->enabled, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "autostart");
		return;
	}
	log_info("autostart '%s': %s", v.name, req->enabled ? "enabled" : "disabled");
	v.autostart = req->enabled;
	if (hvlink_find_by_name(ag->link, v.name, &slot, &st) == 0)
		vm_msg_merged(ag, &vm, &slot, &st);
	else
		vm_msg_from_stored(ag, &vm, &v);
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
}

void svc_set_autostart(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		       struct rpc_result *res)
{
	const Hvmgr__V1__SetAutostartRequest *req = (const Hvmgr__V1__SetAutostartRequest *)m;
	struct agent *ag = ctx->app;
	char args[160];

	audit_selector(req->vm, args, sizeof args);
	snprintf(args + strlen(args), sizeof args - strlen(args), " enabled=%s",
		 req->enabled ? "true" : "false");
	if (agent_op_enter(ag, "SetAutostart", &res->st) == 0) {
		autostart_locked(ag, req, res);
		agent_op_leave(ag);
	}
	agent_audit(ag, ctx->peer, "SetAutostart", args, &res->st);
}
