/*
 * svc_audit.c - the audit log of hvmgr.v1 (REQ-SAF-16): who called which
 * state-changing RPC, with what, and how it ended, appended to the store's
 * hash-chained log (docs/store.md "The audit chain"); and GetAudit, which
 * reads it back. Calls refused before they reached a handler (the read-only
 * socket, a role too low) are recorded through agent_authorize (services.c),
 * at most AUDIT_REFUSED_PER_SEC a second per listener with a summary row for
 * the rest (audit_limit.h).
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "roles.h"
#include "store.h"
#include "store_status.h"

enum hv_role agent_peer_role(const struct agent *ag, const struct rpc_peer *peer)
{
	struct roles_identity id;
	char msg[128];
	enum hv_role role;

	switch (peer->kind) {
	case RPC_LISTENER_UNIX_RW:
		return peer->has_cred ? roles_unix_role(&ag->unix_roles, peer->uid, peer->gid)
				      : HV_ROLE_NONE;
	case RPC_LISTENER_UNIX_RO:
		/* Anyone may connect; a uid mapped to a role keeps it for
		 * reads (console contents, fault registers), never for changes. */
		role = peer->has_cred ? roles_unix_role(&ag->unix_roles, peer->uid, peer->gid)
				      : HV_ROLE_NONE;
		return role == HV_ROLE_NONE ? HV_ROLE_VIEWER : role;
	case RPC_LISTENER_TCP_MTLS:
	case RPC_LISTENER_FLEET:
		if (roles_parse_identity(peer->identity, peer->x509_subject, &id, msg, sizeof msg) ==
		    0)
			return id.role;
		return HV_ROLE_NONE;
	}
	return HV_ROLE_NONE;
}

int agent_require_guest_view(const struct agent *ag, const struct rpc_peer *peer, const char *what,
			     struct hv_status *st)
{
	struct agent_caller c;

	if (agent_peer_role(ag, peer) >= HV_ROLE_OPERATOR)
		return 0;
	agent_caller(ag, peer, &c);
	return hv_status_set(st, HV_PERMISSION_DENIED,
			     "%s require role operator; %s is a %s (on the unix sockets "
			     "hv-agent --unix-operator-gid makes a group operator)",
			     what, c.name, c.role);
}

void agent_caller(const struct agent *ag, const struct rpc_peer *peer, struct agent_caller *c)
{
	struct roles_identity id;
	char msg[128];

	switch (peer->kind) {
	case RPC_LISTENER_UNIX_RW:
	case RPC_LISTENER_UNIX_RO: {
		/* The kernel's word on who connected (SO_PEERCRED). */
		const char *lis = peer->kind == RPC_LISTENER_UNIX_RW ? "unix-rw" : "unix-ro";
		if (peer->has_cred)
			snprintf(c->name, sizeof c->name, "%s:uid=%u,gid=%u,pid=%d", lis,
				 (unsigned)peer->uid, (unsigned)peer->gid, (int)peer->pid);
		else
			snprintf(c->name, sizeof c->name, "%s:uid=?", lis);
		snprintf(c->role, sizeof c->role, "%s", roles_name(agent_peer_role(ag, peer)));
		return;
	}
	case RPC_LISTENER_TCP_MTLS:
	case RPC_LISTENER_FLEET:
		if (roles_parse_identity(peer->identity, peer->x509_subject, &id, msg, sizeof msg) ==
		    0) {
			snprintf(c->name, sizeof c->name, "%s", id.name);
			snprintf(c->role, sizeof c->role, "%s", roles_name(id.role));
		} else {
			/* Recorded as presented; printable bytes only. */
			const char *raw = peer->x509_subject ? peer->x509_subject : "?";
			size_t i = 0;
			for (; raw[i] && i < sizeof c->name - 1; i++)
				c->name[i] = (raw[i] >= 0x20 && raw[i] < 0x7f) ? raw[i] : '?';
			c->name[i] = '\0';
			snprintf(c->role, sizeof c->role, "none");
		}
		return;
	}
	snprintf(c->name, sizeof c->name, "unknown");
	snprintf(c->role, sizeof c->role, "none");
}

void audit_selector(const Hvmgr__V1__VmSelector *sel, char *buf, size_t len)
{
	if (!sel || sel->by_case == HVMGR__V1__VM_SELECTOR__BY__NOT_SET)
		snprintf(buf, len, "vm=(none)");
	else if (sel->by_case == HVMGR__V1__VM_SELECTOR__BY_NAME)
		snprintf(buf, len, "vm=name:%.80s", sel->name);
	else if (sel->by_case == HVMGR__V1__VM_SELECTOR__BY_ID)
		snprintf(buf, len, "vm=id:%u", sel->id);
	else
		snprintf(buf, len, "vm=uuid:%.40s", sel->uuid);
}

/* Store rows hold printable text; anything else becomes '?'. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* One row as given; a row that cannot be written is logged and counted, and
 * -1 returned with err filled. */
static int write_row_err(struct agent *ag, const char *caller, const char *role, const char *rpc,
			 const char *args, const char *outcome, struct store_err *err)
{
	struct store_audit_entry e = {
		.caller = caller, .role = role, .rpc = rpc, .args = args, .outcome = outcome
	};

	if (store_audit_append(ag->store, &e, err) == STORE_OK)
		return 0;
	__atomic_add_fetch(&ag->audit_failures, 1, __ATOMIC_RELAXED);
	log_error("audit: cannot record %s by %s (%s): %s", rpc, caller, outcome, err->msg);
	return -1;
}

static void write_row(struct agent *ag, const char *caller, const char *role, const char *rpc,
		      const char *args, const char *outcome)
{
	struct store_err err;

	write_row_err(ag, caller, role, rpc, args, outcome, &err);
}

static const char *const listener_names[AUDIT_LIMIT_LISTENERS] = { "unix-rw", "unix-ro", "tls" };

/* The summary row of n refused calls of listener lis that got no row of
 * their own (audit_limit.h). Under audit_lock. */
static void write_summary(struct agent *ag, unsigned lis, uint64_t n)
{
	char args[64], out[STORE_OUTCOME_MAX + 1];

	snprintf(args, sizeof args, "listener=%s", listener_names[lis]);
	snprintf(out, sizeof out,
		 "%" PRIu64
		 " refused calls suppressed (more than %u a second on this listener; counted, not recorded one by one)",
		 n, ag->refusals.per_sec);
	write_row(ag, "hv-agent", "system", "agent.refusals", args, out);
	log_warn("audit: %" PRIu64 " refused calls on %s recorded as one row (more than %u a second)",
		 n, listener_names[lis], ag->refusals.per_sec);
}

/* Writes every pending summary row. Under audit_lock. */
static void flush_locked(struct agent *ag)
{
	for (unsigned i = 0; i < AUDIT_LIMIT_LISTENERS; i++) {
		uint64_t n = audit_limit_take(&ag->refusals, i);
		if (n)
			write_summary(ag, i, n);
	}
}

static void audit_row(struct agent *ag, const struct rpc_peer *peer, const char *rpc,
		      const char *args, const struct hv_status *outcome)
{
	struct agent_caller c;
	char rpcname[STORE_RPC_MAX + 1], argbuf[512], out[STORE_OUTCOME_MAX + 1];

	agent_caller(ag, peer, &c);
	printable(c.name);
	snprintf(rpcname, sizeof rpcname, "hvmgr.v1.Hvmgr/%s", rpc);
	snprintf(argbuf, sizeof argbuf, "%s", args && args[0] ? args : "-");
	printable(argbuf);
	if (outcome->code == HV_OK)
		snprintf(out, sizeof out, "OK");
	else if (snprintf(out, sizeof out, "%s: %s", hv_code_name(outcome->code), outcome->msg) < 0)
		out[0] = '\0'; /* a long message is cut at the store's limit */
	printable(out);
	write_row(ag, c.name, c.role, rpcname, argbuf, out);
}

void agent_audit_init(struct agent *ag)
{
	pthread_mutex_init(&ag->audit_lock, NULL);
	audit_limit_init(&ag->refusals, AUDIT_REFUSED_PER_SEC);
}

void agent_audit_fini(struct agent *ag)
{
	pthread_mutex_destroy(&ag->audit_lock);
}

void agent_audit_flush(struct agent *ag)
{
	if (!ag->store)
		return;
	pthread_mutex_lock(&ag->audit_lock);
	flush_locked(ag);
	pthread_mutex_unlock(&ag->audit_lock);
}

uint64_t agent_audit_suppressed(struct agent *ag)
{
	pthread_mutex_lock(&ag->audit_lock);
	uint64_t n = ag->refusals.suppressed;
	pthread_mutex_unlock(&ag->audit_lock);
	return n;
}

void agent_audit(struct agent *ag, const struct rpc_peer *peer, const char *rpc, const char *args,
		 const struct hv_status *outcome)
{
	if (!ag->store)
		return;
	/* Suppressed refusals came before this call ended: their summary
	 * goes first, so the log keeps the order of events. */
	pthread_mutex_lock(&ag->audit_lock);
	flush_locked(ag);
	audit_row(ag, peer, rpc, args, outcome);
	pthread_mutex_unlock(&ag->audit_lock);
}

int agent_audit_request(struct agent *ag, const struct rpc_peer *peer, const char *rpc,
			struct hv_status *st)
{
	struct agent_caller c;
	struct store_err err;
	char rpcname[STORE_RPC_MAX + 1];
	int rc;

	if (!ag->store)
		return 0;
	agent_caller(ag, peer, &c);
	printable(c.name);
	snprintf(rpcname, sizeof rpcname, "hvmgr.v1.Hvmgr/%s", rpc);
	pthread_mutex_lock(&ag->audit_lock);
	flush_locked(ag);
	rc = write_row_err(ag, c.name, c.role, rpcname, "-", "requested", &err);
	pthread_mutex_unlock(&ag->audit_lock);
	if (rc == 0)
		return 0;
	if (err.code == STORE_ETAMPER)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "%s refused: %s (an admin runs 'hvctl audit acknowledge')",
				     rpc, err.msg);
	return hv_status_set(st, HV_FAILED_PRECONDITION,
			     "%s refused: its audit record cannot be written: %s", rpc, err.msg);
}

void agent_audit_refused(struct agent *ag, const struct rpc_peer *peer, const char *rpc,
			 const struct hv_status *st)
{
	unsigned lis = (unsigned)peer->kind < AUDIT_LIMIT_LISTENERS ? (unsigned)peer->kind
								    : AUDIT_LIMIT_LISTENERS - 1;
	uint64_t before;

	if (!ag->store)
		return;
	pthread_mutex_lock(&ag->audit_lock);
	if (audit_limit_admit(&ag->refusals, lis, hv_mono_ns(), &before)) {
		if (before)
			write_summary(ag, lis, before);
		audit_row(ag, peer, rpc, "(refused before the request was read)", st);
	}
	pthread_mutex_unlock(&ag->audit_lock);
}

#define AUDIT_PAGE_DEFAULT 100u
#define AUDIT_PAGE_MAX 1000u

void svc_get_audit(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__GetAuditRequest *req = (const Hvmgr__V1__GetAuditRequest *)m;
	struct agent *ag = ctx->app;
	Hvmgr__V1__GetAuditResponse resp = HVMGR__V1__GET_AUDIT_RESPONSE__INIT;
	struct store_audit_entry *rows = NULL;
	struct store_err e;
	size_t n = 0, max = req->max ? req->max : AUDIT_PAGE_DEFAULT;

	if (max > AUDIT_PAGE_MAX)
		max = AUDIT_PAGE_MAX;
	agent_audit_flush(ag); /* a reader sees suppressed refusals counted */
	if (store_audit_list(ag->store, req->from_seq, max, &rows, &n, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "audit log");
		return;
	}
	Hvmgr__V1__AuditEntry *ents = n ? calloc(n, sizeof *ents) : NULL;
	Hvmgr__V1__AuditEntry **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
	if (n && (!ents || !ptrs)) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		Hvmgr__V1__AuditEntry init = HVMGR__V1__AUDIT_ENTRY__INIT;
		ents[i] = init;
		ents[i].seq = rows[i].seq;
		ents[i].time_ms = rows[i].time_ms;
		ents[i].identity = (char *)rows[i].caller;
		ents[i].role = (char *)rows[i].role;
		ents[i].rpc = (char *)rows[i].rpc;
		ents[i].arguments = (char *)rows[i].args;
		ents[i].outcome = (char *)rows[i].outcome;
		ents[i].hash.data = rows[i].hash;
		ents[i].hash.len = sizeof rows[i].hash;
		ptrs[i] = &ents[i];
	}
	resp.n_entries = n;
	resp.entries = ptrs;
	rpc_result_message(res, &resp.base);
out:
	free(ents);
	free(ptrs);
	store_audit_list_free(rows);
}

void svc_verify_audit(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		      struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	Hvmgr__V1__VerifyAuditResponse resp = HVMGR__V1__VERIFY_AUDIT_RESPONSE__INIT;
	struct store_err e;
	enum store_status s;

	(void)m;
	agent_audit_flush(ag);
	s = store_audit_verify(ag->store, &e);
	if (s != STORE_OK && s != STORE_ETAMPER) {
		status_from_store(&res->st, &e, "audit log");
		return;
	}
	resp.ok = s == STORE_OK;
	if (!resp.ok) {
		log_error("audit log verification: %s; state-changing calls are refused until an admin acknowledges it",
			  e.msg);
		resp.finding = e.msg;
	}
	rpc_result_message(res, &resp.base);
}

void svc_acknowledge_audit(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			   struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	Hvmgr__V1__AcknowledgeAuditResponse resp = HVMGR__V1__ACKNOWLEDGE_AUDIT_RESPONSE__INIT;
	struct agent_caller c;
	struct store_err finding, e;
	uint64_t seq = 0;

	(void)m;
	if (!store_audit_tampered(ag->store, &finding)) {
		rpc_result_error(res, HV_FAILED_PRECONDITION,
				 "the audit log has no finding to acknowledge");
		return;
	}
	agent_caller(ag, ctx->peer, &c);
	printable(c.name);
	pthread_mutex_lock(&ag->audit_lock);
	enum store_status s = store_audit_acknowledge(ag->store, c.name, c.role, &seq, &e);
	pthread_mutex_unlock(&ag->audit_lock);
	if (s != STORE_OK) {
		status_from_store(&res->st, &e, "audit acknowledgement");
		return;
	}
	log_warn("audit: finding acknowledged by %s (row %" PRIu64 "): %s", c.name, seq, finding.msg);
	resp.seq = seq;
	resp.finding = finding.msg;
	rpc_result_message(res, &resp.base);
}
