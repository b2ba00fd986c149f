/*
 * reconcile.c - one reconciliation pass and the watcher thread that runs a
 * pass whenever hv-core comes up or restarts (reconcile.h, docs/reconcile.md).
 */
#include "reconcile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callscope.h"
#include "deadline.h"
#include "log.h"
#include "store_status.h"
#include "uuid.h"

struct reconcile {
	struct reconcile_config cfg;

	pthread_mutex_t lock; /* guards stats, need, stop */
	pthread_cond_t cond;
	struct reconcile_stats stats;
	int need;             /* a pass is due (hv-core came up or restarted) */
	uint64_t last_uptime; /* hv-core's uptime when last seen */
	int stop;
	int stopping; /* atomic copy of stop: the watcher's call scope */
	int started;
	pthread_t thread;
};

/* Counters of one pass, for its summary line. */
struct tally {
	unsigned stored, defined, started, resumed, suspended, shut, failed, left, forgotten, adopted;
};

const char *reconcile_state_name(uint32_t s)
{
	static const char *const names[] = { "no state",        "running",  "blocked", "paused",
					     "being shut down", "shut off", "crashed" };
	return s < sizeof names / sizeof names[0] ? names[s] : "unknown state";
}

const char *reconcile_reason_name(uint32_t r)
{
	static const char *const names[] = { "unknown",   "booted",  "user",     "shutdown",
					     "destroyed", "crashed", "watchdog", "restarted",
					     "selftest",  "defined", "reset",    "rebooted",
					     "failed" };
	return r < sizeof names / sizeof names[0] ? names[r] : "unknown reason";
}

struct reconcile *reconcile_new(const struct reconcile_config *cfg)
{
	struct reconcile *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->cfg = *cfg;
	if (!r->cfg.poll_ms)
		r->cfg.poll_ms = 250;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->need = 1;
	snprintf(r->stats.last, sizeof r->stats.last, "not run yet");
	return r;
}

void reconcile_free(struct reconcile *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		__atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

enum core_result reconcile_define_stored(struct hvlink *l, struct store *s, const char *name,
					 uint32_t *id, uint32_t *rev, struct hv_status *st)
{
	struct store_config_rev cr;
	struct store_err e;
	char what[96];

	memset(&cr, 0, sizeof cr);
	if (store_config_get(s, name, 0, &cr, &e) != STORE_OK) {
		status_from_store(st, &e, "stored configuration of '%s'", name);
		return CORE_REFUSED;
	}
	snprintf(what, sizeof what, "define '%s' revision %u", name, cr.rev);
	*rev = cr.rev;
	enum core_result rc = core_define(l, cr.blob, cr.len, what, id, st);
	store_config_rev_free(&cr);
	return rc;
}

static int find_slot(const struct hvm_vm_slot *slots, uint32_t mask, const char *name)
{
	for (int i = 0; i < (int)HVM_MAX_VMS; i++)
		if ((mask & (1u << i)) && strcmp(slots[i].name, name) == 0)
			return i;
	return -1;
}

static int uuid_is_zero(const uint8_t u[16])
{
	static const uint8_t zero[16];
	return memcmp(u, zero, 16) == 0;
}

/* One command of a pass, logged as what, why, outcome. */
static enum core_result act(struct reconcile *r, uint32_t cmd, const struct hvm_vm_slot *s,
			    const char *verb, const char *why, struct tally *t, struct hv_status *st)
{
	char what[96];

	snprintf(what, sizeof what, "%s '%s'", verb, s->name);
	enum core_result rc = core_cmd(r->cfg.link, cmd, s->id, 0, what, st);
	if (rc == CORE_OK)
		log_info("reconcile: %s: %s: done", what, why);
	else
		log_warn("reconcile: %s: %s: %s", what, why, st->msg);
	if (rc == CORE_REFUSED)
		t->failed++;
	return rc;
}

/* MGMT-713: a START is answered while hv-core still boots the VM (BLOCKED);
 * what follows a start (SUSPEND) waits until the boot is over, at most
 * STARTING_WAIT_MS. */
#define STARTING_WAIT_MS 600000u

static void wait_not_starting(struct reconcile *r, uint32_t id)
{
	struct hvm_vm_slot s;
	struct hv_status st;

	(void)hvlink_wait_not_blocked(r->cfg.link, id, hv_deadline_after_ms(STARTING_WAIT_MS), NULL,
				      &s, &st);
}

/* Brings one VM that hv-core has towards its desired state. fresh: the pass
 * itself just defined it (hv-core did not have it: a fresh hv-core, so
 * autostart applies). */
static enum core_result converge(struct reconcile *r, const struct store_vm *v,
				 const struct hvm_vm_slot *s, int fresh, struct tally *t,
				 struct hv_status *st)
{
	char why[160];
	uint32_t state = s->state;
	enum core_result rc = CORE_OK;

	snprintf(why, sizeof why, "desired %s%s, hv-core shows %s (%s)",
		 store_vm_state_name(v->desired), v->autostart ? " (autostart)" : "",
		 reconcile_state_name(state), reconcile_reason_name(s->reason));
	switch (v->desired) {
	case STORE_VM_RUNNING:
		if (state == HVM_VM_SHUTOFF) {
			if ((rc = act(r, HVM_CMD_START, s, "start", why, t, st)) == CORE_OK)
				t->started++;
		} else if (state == HVM_VM_PAUSED) {
			if ((rc = act(r, HVM_CMD_RESUME, s, "resume", why, t, st)) == CORE_OK)
				t->resumed++;
		} else if (state == HVM_VM_CRASHED) {
			/* hv-core's fault policy stopped it (REQ-SAF-20): not ours to overrule. */
			log_info("reconcile: leave '%s': %s: its fault policy stopped it; start it to run it again",
				 v->name, why);
			t->left++;
		}
		break;
	case STORE_VM_PAUSED:
		if (state == HVM_VM_SHUTOFF) {
			if ((rc = act(r, HVM_CMD_START, s, "start", why, t, st)) != CORE_OK)
				break;
			t->started++;
			wait_not_starting(r, s->id);
		}
		if (state == HVM_VM_SHUTOFF || state == HVM_VM_RUNNING || state == HVM_VM_BLOCKED) {
			if ((rc = act(r, HVM_CMD_SUSPEND, s, "suspend", why, t, st)) == CORE_OK)
				t->suspended++;
		}
		break;
	case STORE_VM_STOPPED:
		if (fresh && v->autostart && state == HVM_VM_SHUTOFF) {
			if ((rc = act(r, HVM_CMD_START, s, "start", why, t, st)) == CORE_OK) {
				struct store_err e;
				t->started++;
				if (store_vm_set_desired(r->cfg.store, v->name, STORE_VM_RUNNING,
							 &e) != STORE_OK)
					log_warn("reconcile: '%s': cannot record desired state running: %s",
						 v->name, e.msg);
			}
		} else if (state == HVM_VM_RUNNING || state == HVM_VM_BLOCKED ||
			   state == HVM_VM_PAUSED) {
			/* A Shutdown or Destroy was interrupted between recording the
			 * wish and hv-core acting on it: finish it gracefully (the
			 * VM's shutdown timeout and fallback apply, MGMT-046). */
			if ((rc = act(r, HVM_CMD_SHUTDOWN, s, "shutdown", why, t, st)) == CORE_OK)
				t->shut++;
		}
		break;
	}
	return rc;
}

static void add_inactive(struct reconcile_stats *ns, const char *name, const char *why)
{
	if (ns->n_inactive >= RECONCILE_LIST_MAX)
		return;
	/* Long messages are cut: this is a summary for diagnostics; the log
	 * line has the whole text. */
	if (snprintf(ns->inactive[ns->n_inactive++], sizeof ns->inactive[0], "%s: %s", name, why) < 0)
		ns->inactive[ns->n_inactive - 1][0] = '\0';
}

static void audit_pass(struct reconcile *r, const char *why, const char *summary)
{
	struct store_audit_entry e;
	struct store_err err;
	char args[160];

	memset(&e, 0, sizeof e);
	snprintf(args, sizeof args, "trigger=%s", why);
	e.caller = "hv-agent";
	e.role = "system";
	e.rpc = "agent.reconcile";
	e.args = args;
	e.outcome = summary;
	if (store_audit_append(r->cfg.store, &e, &err) != STORE_OK)
		log_error("reconcile: cannot write the audit row: %s", err.msg);
}

static enum store_vm_state desired_of(uint32_t hvm_state)
{
	switch (hvm_state) {
	case HVM_VM_RUNNING:
	case HVM_VM_BLOCKED:
		return STORE_VM_RUNNING;
	case HVM_VM_PAUSED:
		return STORE_VM_PAUSED;
	default:
		return STORE_VM_STOPPED;
	}
}

static void audit_adoption(struct reconcile *r, const char *name, const char *uuid,
			   const char *outcome)
{
	struct store_audit_entry e;
	struct store_err err;
	char args[400];

	memset(&e, 0, sizeof e);
	snprintf(args, sizeof args, "name=%s uuid=%s source=%s", name, uuid, r->cfg.boot->source);
	e.caller = "hv-agent";
	e.role = "system";
	e.rpc = "agent.adopt";
	e.args = args;
	e.outcome = outcome;
	if (store_audit_append(r->cfg.store, &e, &err) != STORE_OK)
		log_error("reconcile: cannot write the audit row: %s", err.msg);
}

/* A VM hv-core has and the store lacks: adopted when hv-core's boot
 * configuration (--boot-config) describes it under the same name and uuid
 * (docs/reconcile.md, "Adoption"). 1 when it was stored. */
static int adopt(struct reconcile *r, const struct hvm_vm_slot *s, struct tally *t,
		 struct reconcile_stats *ns)
{
	const struct bootconf_vm *bv = bootconf_find(r->cfg.boot, s->name);
	char u[HV_UUID_STR_LEN] = "", what[96], outcome[640];
	struct store_err e;
	uint32_t rev = 0;

	if (!bv)
		return 0;
	if (!uuid_is_zero(s->uuid))
		hv_uuid_format(s->uuid, u);
	snprintf(what, sizeof what, "adopt '%s' (id %u, %s)", s->name, s->id,
		 reconcile_state_name(s->state));
	if (!u[0] || strcmp(u, bv->id.uuid) != 0) {
		snprintf(outcome, sizeof outcome,
			 "hv-core's VM has uuid %s, the boot configuration %s says %s: not adopted",
			 u[0] ? u : "(none)", r->cfg.boot->source,
			 bv->id.uuid[0] ? bv->id.uuid : "(none)");
		log_warn("reconcile: %s: %s", what, outcome);
		add_inactive(ns, s->name, "uuid differs from the boot configuration's: not adopted");
		return 0;
	}
	if (store_vm_create(r->cfg.store, s->name, u, &e) != STORE_OK) {
		snprintf(outcome, sizeof outcome, "storing the VM: %s", e.msg);
		goto failed;
	}
	if (store_config_add(r->cfg.store, s->name, bv->blob, bv->len, "boot configuration", &rev,
			     &e) != STORE_OK) {
		snprintf(outcome, sizeof outcome, "storing its configuration: %s", e.msg);
		if (store_vm_delete(r->cfg.store, s->name, &e) != STORE_OK)
			log_error("reconcile: %s: cannot remove the half-stored VM: %s", what, e.msg);
		goto failed;
	}
	/* What hv-core does with it now is what is wanted: adoption changes nothing. */
	if (store_vm_set_autostart(r->cfg.store, s->name, bv->autostart, &e) != STORE_OK ||
	    store_vm_set_desired(r->cfg.store, s->name, desired_of(s->state), &e) != STORE_OK)
		log_warn("reconcile: %s: recording its autostart and desired state: %s", what, e.msg);
	snprintf(outcome, sizeof outcome, "stored as revision %u, origin boot configuration", rev);
	log_info("reconcile: %s: hv-core defined it from its boot configuration %s: %s", what,
		 r->cfg.boot->source, outcome);
	audit_adoption(r, s->name, u, outcome);
	t->adopted++;
	return 1;

failed:
	log_warn("reconcile: %s: %s", what, outcome);
	audit_adoption(r, s->name, u, outcome);
	add_inactive(ns, s->name, outcome);
	t->failed++;
	return 0;
}

int reconcile_run_locked(struct reconcile *r, const char *why, struct hv_status *st)
{
	static struct reconcile_stats ns; /* one pass at a time: it holds the operation */
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct hvlink_info info;
	struct store_vm *vms = NULL;
	struct store_err e;
	struct tally t;
	uint32_t mask, matched = 0;
	size_t n = 0;
	int aborted = 0;

	memset(&t, 0, sizeof t);
	memset(&ns, 0, sizeof ns);
	/* A command a killed hv-agent submitted (an UNDEFINE of a VM the store
	 * still holds) may still be carried out after this hv-agent started:
	 * the slots are read once it has been, or the pass would see the VM
	 * that is about to go and leave it undefined. */
	if (hvlink_wait_idle(r->cfg.link, st) != 0 || hvlink_info(r->cfg.link, &info, st) != 0 ||
	    hvlink_read_slots(r->cfg.link, slots, &mask, st) != 0) {
		hv_status_prefix(st, "reconciliation (%s) deferred: ", why);
		goto failed;
	}
	if (store_vm_list(r->cfg.store, &vms, &n, &e) != STORE_OK) {
		status_from_store(st, &e, "reconciliation (%s): reading the store", why);
		goto failed;
	}
	log_info("reconcile: pass (%s): %zu VMs in the store, %d in hv-core", why, n,
		 __builtin_popcount(mask));
	t.stored = (unsigned)n;
	for (size_t i = 0; i < n && !aborted; i++) {
		const struct store_vm *v = &vms[i];
		char msg[HV_STATUS_MSG_LEN + 32];
		int id = find_slot(slots, mask, v->name);
		int fresh = 0;

		if (id >= 0 && !uuid_is_zero(slots[id].uuid)) {
			char u[HV_UUID_STR_LEN];
			hv_uuid_format(slots[id].uuid, u);
			if (strcmp(u, v->uuid) != 0) {
				snprintf(msg, sizeof msg,
					 "hv-core has another VM of this name (uuid %s; stored %s)",
					 u, v->uuid);
				log_warn("reconcile: leave '%s': %s: neither is changed", v->name,
					 msg);
				add_inactive(&ns, v->name, msg);
				t.failed++;
				continue;
			}
		}
		if (id < 0) {
			uint32_t nid, rev;
			if (v->latest_rev == 0) {
				/* Define stores the VM, then its configuration, then
				 * defines it: only a crash between the first two
				 * leaves a VM without configuration, and its client
				 * never got an answer. Nothing can be defined from it. */
				if (store_vm_delete(r->cfg.store, v->name, &e) == STORE_OK) {
					log_info("reconcile: forget '%s': an interrupted Define stored the VM but not its configuration: removed",
						 v->name);
					t.forgotten++;
				} else {
					log_warn("reconcile: forget '%s': an interrupted Define stored no configuration; removing it failed: %s",
						 v->name, e.msg);
					add_inactive(&ns, v->name, "no stored configuration");
					t.failed++;
				}
				continue;
			}
			enum core_result rc = reconcile_define_stored(r->cfg.link, r->cfg.store,
								      v->name, &nid, &rev, st);
			if (rc == CORE_NO_ANSWER) {
				log_warn("reconcile: define '%s': hv-core lacks it: %s", v->name,
					 st->msg);
				aborted = 1;
				break;
			}
			if (rc == CORE_REFUSED) {
				log_warn("reconcile: define '%s': hv-core lacks it: %s", v->name,
					 st->msg);
				add_inactive(&ns, v->name, st->msg);
				t.failed++;
				continue;
			}
			log_info("reconcile: define '%s' revision %u: hv-core lacked it: defined as id %u",
				 v->name, rev, nid);
			t.defined++;
			if (hvlink_read_slot(r->cfg.link, nid, &slots[nid], st) != 0) {
				aborted = 1;
				break;
			}
			mask |= 1u << nid;
			id = (int)nid;
			fresh = 1;
		}
		matched |= 1u << id;
		if (converge(r, v, &slots[id], fresh, &t, st) == CORE_NO_ANSWER)
			aborted = 1;
	}
	store_vm_list_free(vms);
	if (aborted)
		goto failed;

	for (int i = 0; i < (int)HVM_MAX_VMS; i++) {
		if (!(mask & (1u << i)) || (matched & (1u << i)))
			continue;
		if (adopt(r, &slots[i], &t, &ns))
			continue;
		log_info("reconcile: leave '%s' (id %d, %s): in hv-core but not in the store (unmanaged: hv-core's boot configuration or another client defined it)",
			 slots[i].name, i, reconcile_state_name(slots[i].state));
		snprintf(ns.unmanaged[ns.n_unmanaged++], sizeof ns.unmanaged[0], "%s", slots[i].name);
	}
	snprintf(ns.last, sizeof ns.last,
		 "%s: %u stored, %u defined, %u started, %u resumed, %u suspended, %u shut down, %u forgotten, %u adopted, %u left alone, %u failed, %zu unmanaged",
		 why, t.stored, t.defined, t.started, t.resumed, t.suspended, t.shut, t.forgotten,
		 t.adopted, t.left, t.failed, ns.n_unmanaged);
	log_info("reconcile: complete (%s)", ns.last);
	if (t.defined + t.started + t.resumed + t.suspended + t.shut + t.forgotten + t.adopted +
	    t.failed)
		audit_pass(r, why, ns.last);
	pthread_mutex_lock(&r->lock);
	ns.runs = r->stats.runs + 1;
	r->stats = ns;
	r->need = 0;
	r->last_uptime = info.uptime_ns;
	pthread_mutex_unlock(&r->lock);
	hv_status_ok(st);
	return 0;

failed:
	pthread_mutex_lock(&r->lock);
	snprintf(r->stats.last, sizeof r->stats.last, "%s", st->msg);
	r->need = 1;
	pthread_mutex_unlock(&r->lock);
	if (st->code == HV_OK)
		hv_status_set(st, HV_UNAVAILABLE, "reconciliation (%s) did not complete", why);
	log_warn("reconcile: %s; will retry when hv-core answers", st->msg);
	return -1;
}

static int nap(struct reconcile *r, unsigned ms);

int reconcile_run(struct reconcile *r, const char *why, struct hv_status *st)
{
	/* A full queue means clients are busy, not that the pass is unwanted:
	 * come back shortly. Anything else (hv-agent stopping) ends the pass. */
	while (hv_opqueue_enter(r->cfg.ops, "reconciliation", 0, st) != 0) {
		if (st->code != HV_RESOURCE_EXHAUSTED || nap(r, RECONCILE_RETRY_MS)) {
			pthread_mutex_lock(&r->lock);
			r->need = 1;
			pthread_mutex_unlock(&r->lock);
			log_info("reconcile: %s", st->msg);
			return -1;
		}
	}
	int rc = reconcile_run_locked(r, why, st);
	hv_opqueue_leave(r->cfg.ops);
	return rc;
}

/* Waits ms or until stop; returns stop. */
static int nap(struct reconcile *r, unsigned ms)
{
	struct timespec ts = hv_timespec_after_ms(CLOCK_REALTIME, ms);

	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	int stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static void *watch(void *arg)
{
	struct reconcile *r = arg;
	struct hvlink_info info;
	struct hv_status st;
	int down_logged = 0;
	unsigned wait_ms = r->cfg.poll_ms;
	const char *why = "hv-core came up";
	/* The watcher's own call scope: no deadline, and stopping once
	 * reconcile_free begins, so a pass waiting for its turn (or a command
	 * of it waiting for the register interface) gives up then. */
	const struct hv_callscope cs = { .deadline_ns = 0, .stopping = &r->stopping };

	hv_callscope_enter(&cs);
	while (!nap(r, wait_ms)) {
		wait_ms = r->cfg.poll_ms;
		if (hvlink_info(r->cfg.link, &info, &st) != 0) {
			pthread_mutex_lock(&r->lock);
			r->need = 1;
			pthread_mutex_unlock(&r->lock);
			if (!down_logged)
				log_info("reconcile: hv-core not reachable (%s); will reconcile when it is",
					 st.msg);
			down_logged = 1;
			why = "hv-core came up";
			continue;
		}
		down_logged = 0;
		pthread_mutex_lock(&r->lock);
		if (info.uptime_ns < r->last_uptime) {
			log_info("reconcile: hv-core restarted (uptime went back from %" PRIu64
				 " ms to %" PRIu64 " ms)",
				 r->last_uptime / 1000000u, info.uptime_ns / 1000000u);
			r->need = 1;
			why = "hv-core restarted";
		}
		r->last_uptime = info.uptime_ns;
		int need = r->need;
		pthread_mutex_unlock(&r->lock);
		if (need && reconcile_run(r, why, &st) != 0)
			wait_ms = 1000; /* hv-core up but not answering: do not hammer it */
	}
	hv_callscope_leave();
	return NULL;
}

int reconcile_start(struct reconcile *r, struct hv_status *st)
{
	int e = pthread_create(&r->thread, NULL, watch, r);

	if (e != 0)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "cannot start the reconciliation thread: %s", strerror(e));
	r->started = 1;
	return 0;
}

void reconcile_stats(struct reconcile *r, struct reconcile_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}

bool reconcile_vm_failed(struct reconcile *r, const char *name, char *why, size_t len)
{
	bool found = false;
	size_t nl = strlen(name);

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->stats.n_inactive && !found; i++) {
		const char *s = r->stats.inactive[i];
		if (strncmp(s, name, nl) == 0 && s[nl] == ':') {
			snprintf(why, len, "%s", s + nl + 2);
			found = true;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}
