/*
 * agent.h - the state every hvmgr.v1 handler shares, and the helpers the
 * service files use to turn hypervisor records into protobuf messages and
 * hvlink outcomes into RPC statuses.
 */
#ifndef AGENT_H
#define AGENT_H

#include <pthread.h>
#include <stdint.h>

#include "audit_limit.h"
#include "deadline.h"
#include "eventlog.h"
#include "hvlink.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "opqueue.h"
#include "outcome.h"
#include "roles_unix.h"
#include "rpc_server.h"
#include "telemetry.h"

#ifndef HV_VERSION
#define HV_VERSION "0.0.0"
#endif

struct store;
struct store_vm;
struct reconcile;
struct blksup;

/* OTA updates (svc_ota.c): main.c sets these before serving. */
struct agent_ota {
	const char *dir;         /* STATE/ota: uploaded bundles, mode 0700   */
	const char *floor_path;  /* the time floor (docs/ota.md OTA-041)     */
	const char *trust_conf;  /* --ota-trust CONF, or NULL               */
	const char *ca;          /* --ota-ca CERT (default TLS-DIR/update-ca.crt) */
	const char *system;      /* --ota-system ID; NULL: not checked      */
	uint64_t max_bytes;      /* --ota-max-bytes: the global size cap     */
	uint64_t min_rate;       /* --ota-min-rate bytes/s; 0: none         */
	unsigned rate_window_ms; /* --ota-rate-window-ms                    */
	const char *fetch_ca;    /* --ota-fetch-ca PEM for OtaFetch's HTTPS; NULL: the system's */
	int stopping;            /* atomic: set when hv-agent stops (ends a fetch) */
	int upload_busy;         /* atomic: one upload at a time            */
	uint64_t part_max_age_s; /* --ota-part-max-age: an abandoned KEY.part older than
				  * this is removed (OTA-209); 0: kept   */
};
#define AGENT_OTA_MAX_BYTES_DEFAULT (256ull << 20)
#define AGENT_OTA_MIN_RATE_DEFAULT 1024u
#define AGENT_OTA_RATE_WINDOW_MS_DEFAULT 30000u
#define AGENT_OTA_PART_MAX_AGE_DEFAULT (7u * 24u * 3600u) /* a week */

/* Operations waiting behind the one in progress, at most (the same bound as
 * hvlink's command queue: one waiting operation issues one command at a time). */
#define AGENT_OPS_MAX 16u

struct agent {
	struct hvlink *link;
	struct eventlog *events;
	uint64_t started_ns;
	const char *ram_file;
	uint64_t mgmt_base;

	/* The persistent store (REQ-PRD-04) and reconciliation with hv-core
	 * (docs/reconcile.md). `ops` serializes every state-changing RPC with
	 * the others and with reconciliation passes: each of them is a short
	 * sequence of store writes and hv-core commands that must not
	 * interleave. It is a bounded queue (opqueue.h), not a mutex, so a
	 * waiting call honors its deadline and shutdown, and the 17th waiter
	 * is refused at once (docs/api.md "Limits, deadlines and shutdown"). */
	struct store *store;
	const char *db_path;
	struct reconcile *reconcile;
	/* The audit head's sequence in hv-core (audit_anchor.h); NULL when
	 * turned off. Diagnostics show its state. */
	struct audit_anchor *anchor;
	struct hv_opqueue ops;
	uint64_t audit_failures; /* atomic */
	/* Refused calls get audit rows at a bounded rate (audit_limit.h);
	 * audit_lock orders the summary rows with the others. */
	pthread_mutex_t audit_lock;
	struct audit_limit refusals;

	/* The RPC server, for its listener counters (GetDiagnostics); set
	 * before it starts serving. */
	struct rpc_server *srv;

	/* Roles of callers on the unix sockets by uid/gid (roles_unix.h);
	 * set before the server starts. */
	struct roles_unix unix_roles;

	/* 1 while a LoadImage owns the image staging area (atomic exchange):
	 * a second upload is refused rather than mixed into the first. */
	int staging_busy;

	/* MGMT-011 liveness: when hv_ticks last changed, as seen by us. */
	pthread_mutex_t live_lock;
	uint64_t last_ticks, last_change_ns;

	/* The telemetry registry (REQ-PRD-06, docs/telemetry.md): filled by
	 * telemetry_feed.c, read by /metrics; NULL when metrics are off. */
	struct telemetry *telemetry;
	/* Commands waiting for the safety policy (pending.c); NULL until
	 * pending_start. */
	struct pending *pending;
	struct agent_ota ota;
	/* The virtio-blk backends hv-agent runs (blksup.h); NULL when off. */
	struct blksup *blksup;
};

/* Waits for the turn of a state-changing operation `what` ("START") in
 * ag->ops, honoring the call's deadline and shutdown (callscope.h). 0 when
 * the caller holds it (release with agent_op_leave); -1 with a status for the
 * client (RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNAVAILABLE): not started. */
int agent_op_enter(struct agent *ag, const char *what, struct hv_status *st);
void agent_op_leave(struct agent *ag);

/* The method table of hvmgr.v1 and grpc.health.v1. */
const struct rpc_method *agent_methods(size_t *count);

/* Authorization (rpc_authorize_fn): unix read-write callers may do anything
 * (the socket's file mode is the access control), read-only callers only
 * what does not change state, TLS callers what their certificate's role
 * allows (agent/auth/roles.h). */
int agent_authorize(void *app, const struct rpc_peer *peer, const char *method, struct hv_status *st);
/* rpc_server_set_unrun's callback: a state-changing call that was admitted
 * (and recorded as "requested") but not run gets its outcome row, with the
 * arguments "(not run)". */
void agent_unrun(void *app, const struct rpc_peer *peer, const char *method,
		 const struct hv_status *st);

/* True when hv_ticks advanced within the last second (MGMT-011). */
int agent_hv_alive(struct agent *ag, uint64_t ticks);

/* ---- convert.c ---- */

/* A Vm message with storage for its strings. */
struct vm_msg {
	Hvmgr__V1__Vm vm;
	char name[64];
	char uuid[37];
	char image_version[HVM_VERSION_LEN];
};

void vm_msg_from_slot(struct vm_msg *m, const struct hvm_vm_slot *s);

/* A VM's VIRTIO devices as messages (GET_VIRTIO, MGMT-850); the strings are
 * static, nothing is allocated. */
struct virtio_msg {
	Hvmgr__V1__VirtioDevice dev[HVM_VIRTIO_MAX];
	Hvmgr__V1__VirtioDevice *ptrs[HVM_VIRTIO_MAX];
	size_t n;
	/* the blk device's backend (blksup_fill_msg) */
	char backend_state[16], backend_exit[96], disk[4096];
};
void virtio_msg_fill(struct virtio_msg *m, const struct hvm_virtio *r);

/* ---- vmstore.c: the store's view of a VM ---- */

/* Adds the store's fields (autostart, revision, desired state) to m. */
void vm_msg_apply_store(struct vm_msg *m, const struct store_vm *v);
/* A VM the store holds and hv-core lacks: SHUTOFF, id HVMGR_NO_ID, reason
 * FAILED when reconciliation could not define it, else UNKNOWN. */
void vm_msg_from_stored(struct agent *ag, struct vm_msg *m, const struct store_vm *v);
#define HVMGR_NO_ID 0xFFFFFFFFu

/* The stored VM matching hv-core's slot (same name, and same uuid unless
 * hv-core reports none): 1 found, 0 not stored, -1 store error (st set). */
int store_vm_for_slot(struct agent *ag, const struct hvm_vm_slot *s, struct store_vm *out,
		      struct hv_status *st);

/* The stored VM a selector names; by id through hv-core's slot. NOT_FOUND
 * ("hv-agent holds no configuration for VM 'x'") when the store lacks it. */
int resolve_stored(struct agent *ag, const Hvmgr__V1__VmSelector *sel, struct store_vm *out,
		   char *label, size_t label_len, struct hv_status *st);

/* A merged Vm message for a VM hv-core has (store fields added when stored). */
int vm_msg_merged(struct agent *ag, struct vm_msg *m, const struct hvm_vm_slot *s,
		  struct hv_status *st);

/* ---- svc_lifecycle.c ---- */

/* Gives a stored VM a new configuration revision and defines it in hv-core
 * (which must have it shut off, or not have it): blob, or with rollback_of
 * != 0 a copy of that revision. Caller holds the operation (agent_op_enter). author is recorded with
 * the revision. A refusal by hv-core puts the previous configuration back
 * (as a new revision that copies it) and returns -1 with hv-core's status. */
int agent_set_config(struct agent *ag, const char *name, const void *blob, size_t len,
		     uint32_t rollback_of, const char *author, uint32_t *rev_out, uint32_t *id_out,
		     struct hv_status *st);

/* Runs a lifecycle command (cmd, `verb` for messages) on the VM sel names as
 * the RPC does: desired state first, then hv-core; res gets the response or
 * the error. Caller holds the operation (agent_op_enter). */
void agent_lifecycle_locked(struct agent *ag, const Hvmgr__V1__VmSelector *sel, uint32_t cmd,
			    const char *verb, uint64_t arg0, struct rpc_result *res);

/* ---- pending.c: commands that wait for the safety policy (MGMT-450..452) ---- */
struct pending;
struct store_pending;
/* Starts the thread that runs queued commands when the vehicle state changes. */
struct pending *pending_start(struct agent *ag, struct hv_status *st);
/* Stops and frees it (NULL is ignored). */
void pending_stop(struct pending *p);
/* Asks for a pass over the queue soon. */
void pending_kick(struct pending *p);
/* Queues `verb` (arg0: shutdown's timeout) on the VM in slot for the caller
 * of peer, `why` being the policy's refusal; *out gets the stored row. */
int agent_pending_queue(struct agent *ag, const struct rpc_peer *peer,
			const struct hvm_vm_slot *slot, const char *verb, uint64_t arg0,
			const char *why, struct store_pending *out, struct hv_status *st);
/* A PendingOp message whose strings point into p. */
void pending_msg_from_store(Hvmgr__V1__PendingOp *m, const struct store_pending *p);
/* The end of a queued command, for WatchEvents (EVENT_TYPE_PENDING_DONE). */
struct pending_note {
	uint64_t n; /* 0, 1, 2 ... since hv-agent started */
	uint64_t time_ns;
	uint64_t id;
	uint32_t vm_id;
	char op[16];
	char vm_name[HVM_NAME_LEN];
	char outcome[16]; /* "done", "failed", "cancelled" */
	char msg[256];
};
/* The number the next note will carry. */
uint64_t pending_notes_next(struct pending *p);
/* Copies notes numbered *pos and on (at most max) and advances *pos. */
size_t pending_notes_read(struct pending *p, uint64_t *pos, struct pending_note *out, size_t max);
void svc_list_pending(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_cancel_pending(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

/* ---- svc_ota.c: OTA updates (docs/ota.md "hv-agent") ---- */
void svc_ota_upload_offset(const struct rpc_call_ctx *, const ProtobufCMessage *,
			   struct rpc_result *);
void svc_ota_upload(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		    struct hv_status *);
void svc_ota_install(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_ota_status(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_ota_fetch(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
/* A VM's OTA_STATUS as an OtaVmStatus message (strings point into it). */
struct ota_status_msg {
	Hvmgr__V1__OtaVmStatus m;
	Hvmgr__V1__OtaSlot a, b, ra, rb; /* ra, rb: the initrd slots (MGMT-665) */
	char vm[HVM_NAME_LEN + 1];
	struct hvm_ota_status raw;
};
int agent_ota_status_msg(struct agent *ag, const struct hvm_vm_slot *slot, uint64_t deadline_ns,
			 struct ota_status_msg *o, struct hv_status *st);
/* An audit row (caller hv-core) for each OTA event of hv-core (44..48):
 * the trial's end is hv-core's own step. */
void agent_ota_event_audit(struct agent *ag, const struct eventlog_rec *r);
/* The event types agent_ota_event_audit writes, as eventlog_hold's mask:
 * hv-core keeps each in its ring until its row is written (OTA-210). */
uint64_t agent_ota_held_events(void);
/* OTA-209: removes the parts of abandoned uploads and fetches in STATE/ota
 * older than --ota-part-max-age, never the one an upload or fetch is
 * writing; each removal is an audit row "OtaUpload.expire" (why: "start-up",
 * "periodic", "upload"). Returns how many uploads were removed. */
unsigned agent_ota_sweep_parts(struct agent *ag, const char *why);
/* "confirmed", "fail-timeout", ... for enum hvm_ota_result. */
const char *agent_ota_result_name(uint32_t result);
const char *agent_ota_slot_state_name(uint32_t state); /* "good", "empty" ... */
/* OTA_SWITCH of the VM as a queued "otaswitch" runs it (pending.c): arg is
 * the window in its low 32 bits, the trial timeout in its high ones. Caller
 * holds the operation. 0, or -1 with st (hv-core's refusal or no answer). */
int agent_ota_switch_locked(struct agent *ag, const struct hvm_vm_slot *slot, uint64_t arg,
			    struct hv_status *st);

/* ---- svc_audit.c: the audit log (REQ-SAF-16) ---- */

/* Who is calling, as recorded: certificate name and role, or on a unix
 * socket the listener and the caller's credentials from the kernel,
 * "unix-rw:uid=1000,gid=1000,pid=4321", with the role its uid/gid maps to. */
struct agent_caller {
	char name[128];
	char role[32];
};
void agent_caller(const struct agent *ag, const struct rpc_peer *peer, struct agent_caller *c);

/* The caller's role: the certificate's on TLS and the fleet link; by uid/gid
 * on the unix sockets (roles_unix.h), where an unmapped uid is HV_ROLE_NONE
 * on the read-write socket and a viewer on the read-only one. The read-only
 * socket refuses every change whatever the role; the role decides there
 * what a read may show (console contents and guest registers need operator). */
enum hv_role agent_peer_role(const struct agent *ag, const struct rpc_peer *peer);
/* Guest contents (console output, the registers of a fault record) need
 * operator: 0 when the caller has it, else -1 with PERMISSION_DENIED naming
 * `what` ("console contents"), the caller and its role. */
int agent_require_guest_view(const struct agent *ag, const struct rpc_peer *peer, const char *what,
			     struct hv_status *st);

/* Appends one audit row: caller, the RPC's short name, printable arguments
 * and the outcome ("OK" or "CODE: message"). A row that cannot be written is
 * logged and counted (GetDiagnostics audit_failures); the call's result stands. */
void agent_audit(struct agent *ag, const struct rpc_peer *peer, const char *rpc, const char *args,
		 const struct hv_status *outcome);

/* A call refused before its request was read (authorization). Recorded like
 * agent_audit, but at most AUDIT_REFUSED_PER_SEC a second per listener; the
 * rest are counted in one summary row (caller hv-agent, rpc agent.refusals,
 * "K refused calls suppressed"), written before the listener's next refusal
 * row, before any other row, on GetAudit and at exit. */
void agent_audit_refused(struct agent *ag, const struct rpc_peer *peer, const char *rpc,
			 const struct hv_status *st);
/* The request record of a state-changing call, written before the call is
 * made (its outcome row follows from agent_audit). 0, or -1 with
 * FAILED_PRECONDITION when the row cannot be written: the call is then not
 * made (an unacknowledged audit finding, a full disk). */
int agent_audit_request(struct agent *ag, const struct rpc_peer *peer, const char *rpc,
			struct hv_status *st);
/* Writes pending summary rows now. */
void agent_audit_flush(struct agent *ag);
/* Refused calls recorded only in summary rows, since start. */
uint64_t agent_audit_suppressed(struct agent *ag);
void agent_audit_init(struct agent *ag);
/* Releases what agent_audit_init set up (flush before closing the store). */
void agent_audit_fini(struct agent *ag);

/* "name=web" / "id=3" / "uuid=..." for audit arguments. */
void audit_selector(const Hvmgr__V1__VmSelector *sel, char *buf, size_t len);

/* ---- hv-core outcomes: see outcome.h ---- */

/* ---- resolve.c ---- */

/* Finds the VM a selector names; INVALID_ARGUMENT for an empty or malformed
 * selector, NOT_FOUND naming the VM otherwise. `label` gets a printable name
 * for messages ("'web'", "id 3", "uuid ..."). */
int resolve_vm(struct agent *ag, const Hvmgr__V1__VmSelector *sel, struct hvm_vm_slot *out,
	       char *label, size_t label_len, struct hv_status *st);

/* The checks every selector passes before it is looked up: one of name, id
 * or uuid set, the name one a VM can have, the uuid well-formed (parsed into
 * uuid). label as for resolve_vm. 0, or -1 with INVALID_ARGUMENT. */
int resolve_check_selector(const Hvmgr__V1__VmSelector *sel, uint8_t uuid[16], char *label,
			   size_t label_len, struct hv_status *st);

/* The slots a request is about: the VM sel names (bit 0 of *mask), or with
 * no selector every defined slot. Errors as resolve_vm / hvlink_read_slots. */
int resolve_slots(struct agent *ag, const Hvmgr__V1__VmSelector *sel,
		  struct hvm_vm_slot slots[HVM_MAX_VMS], uint32_t *mask, char *label,
		  size_t label_len, struct hv_status *st);

/* 0 when a selector's name can name a VM; otherwise INVALID_ARGUMENT saying
 * why (empty, longer than any VM name, control characters). */
int resolve_check_name(const char *name, struct hv_status *st);

/* ---- svc_read.c ---- */

/* Runs GET_STATS for VM `id` (`label` names it in messages) and checks the
 * record (MGMT-180). 1 = record in *out, 0 = the VM is gone (E_BAD_VM:
 * undefined meanwhile; only when `gone_ok`), -1 = error in st. */
int agent_stats_fetch(struct agent *ag, uint32_t id, const char *label, int gone_ok,
		      struct hvm_stats *out, struct hv_status *st);

/* Runs GET_VIRTIO for VM `id` and checks the record (MGMT-850). 1 = record
 * in *out (count 0 when hv-core's caps lack GET_VIRTIO: an older hv-core
 * reports no devices), 0 = the VM is gone (only when `gone_ok`), -1 = error
 * in st. */
int agent_virtio_fetch(struct agent *ag, uint32_t id, const char *label, int gone_ok,
		       struct hvm_virtio *out, struct hv_status *st);

/* ---- telemetry_feed.c: samples hv-core into ag->telemetry ---- */

struct telemetry_feed;
/* Samples every interval_ms (0 = 1000) on a thread of its own. */
struct telemetry_feed *telemetry_feed_start(struct agent *ag, unsigned interval_ms,
					    struct hv_status *st);
void telemetry_feed_stop(struct telemetry_feed *f);
/* One sample now: 0, or -1 when hv-core could not be read (st says why). */
int telemetry_feed_once(struct agent *ag, struct hv_status *st);
/* The same with the GET_STATS records whether or not the registry was read
 * lately: for a reader that samples for itself, at its own (slow) rate, such
 * as the fleet link's health snapshot, without keeping the feeder sending
 * commands every interval. */
int telemetry_feed_full(struct agent *ag, struct hv_status *st);

/* ---- faultlog.c: hv-core's FAULT and WATCHDOG events into the store ---- */

/* Follows the event log on a thread of its own and persists every FAULT and
 * WATCHDOG event in the store's fault counters and fault history, with gap
 * rows where events were lost (REQ-SAF-16). Needs ag->store and ag->events. */
struct faultlog;
struct faultlog *faultlog_start(struct agent *ag, struct hv_status *st);
/* Ends the thread, first recording how far it read. */
void faultlog_stop(struct faultlog *f);

/* ---- the handlers, by file ---- */
void svc_list_vms(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_vm(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_stats(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_console(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

void svc_define(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_undefine(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_start(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_shutdown(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_destroy(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_reboot(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_reset(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_suspend(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_resume(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

void svc_load_image(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		    struct hv_status *);

void svc_get_faults(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_self_test(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_diagnostics(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_version(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);

/* ---- svc_safety.c: the vehicle state and the safety policy (MGMT-400..404) ---- */
void svc_get_vehicle_state(const struct rpc_call_ctx *, const ProtobufCMessage *,
			   struct rpc_result *);
void svc_set_vehicle_state(const struct rpc_call_ctx *, const ProtobufCMessage *,
			   struct rpc_result *);
void svc_get_policy(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
/* "QM", "ASIL-A" .. "ASIL-D" for hvm_vm_slot.criticality. */
const char *agent_criticality_name(uint32_t criticality);
/* The dry run of cmd on a VM hv-core holds (MGMT-404): 0 with out filled
 * (allowed or denied, with hv-core's message naming the rule); -1 with st
 * for any other answer (unknown VM, no answer). */
struct agent_verdict {
	Hvmgr__V1__PolicyVerdict v;
	char msg[sizeof((struct hvlink_reply *)0)->msg];
};
int agent_policy_verdict(struct agent *ag, const struct hvm_vm_slot *slot, uint32_t cmd,
			 struct agent_verdict *out, const char *what, struct hv_status *st);

void svc_get_config(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_list_config_revisions(const struct rpc_call_ctx *, const ProtobufCMessage *,
			       struct rpc_result *);
void svc_rollback_config(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_set_autostart(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_get_audit(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_verify_audit(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_acknowledge_audit(const struct rpc_call_ctx *, const ProtobufCMessage *,
			   struct rpc_result *);

void svc_watch_events(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		      struct hv_status *);
/* An Event message from an event log record (vm_name points into r). */
void event_msg_from_rec(Hvmgr__V1__Event *ev, const struct eventlog_rec *r);

/* ---- svc_fleet.c: the fleet link (docs/fleet.md) ---- */

struct fleet_link_opts;
struct agent_fleet;
/* Starts the fleet link with the method table, authorization and audit of
 * gRPC, and a thread that publishes the event log's events on the vehicle's
 * events topic (from the oldest event held; subscribers drop duplicates by
 * Event.seq). */
struct agent_fleet *agent_fleet_start(struct agent *ag, const struct fleet_link_opts *o,
				      struct hv_status *st);
/* The link, for other publishers (the telemetry registry publishes with
 * fleet_link_publish(link, FLEET_TELEMETRY, ...)). */
struct fleet_link *agent_fleet_link(struct agent_fleet *f);
void agent_fleet_stop(struct agent_fleet *f);

void svc_export_diagnostics(const struct rpc_call_ctx *, const ProtobufCMessage *,
			    struct rpc_result *);
/* One health snapshot of the telemetry registry, as WatchHealth sends it
 * (cause SAMPLE, alarms raised now): a packed hvmgr.v1.HealthUpdate
 * (malloc'd). UNAVAILABLE when the registry is off. */
int svc_health_snapshot(struct agent *ag, uint8_t **out, size_t *len, struct hv_status *st);
void svc_watch_health(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		      struct hv_status *);
/* svc_console.c: the interactive console (bidirectional stream) */
void svc_console(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		 struct hv_status *);
/* ... and as a session of unary calls (the fleet link): open, input, close */
void svc_console_session_open(const struct rpc_call_ctx *, const ProtobufCMessage *,
			      struct rpc_result *);
void svc_console_session_input(const struct rpc_call_ctx *, const ProtobufCMessage *,
			       struct rpc_result *);
void svc_console_session_close(const struct rpc_call_ctx *, const ProtobufCMessage *,
			       struct rpc_result *);
/* Ends, soon and on the sessions' own thread, every session opened through
 * listener kind before now, with why as the reason (that link is gone);
 * never blocks (the fleet link's network thread calls it). Each end is
 * audited, like that of a session idle past its limit (ended at its limit,
 * whether or not another session opens). */
void console_sessions_link_lost(enum rpc_listener_kind kind, const char *why);
/* Where the output of sessions opened through the fleet link goes: fn gets
 * the session id and a packed hvmgr.v1.FleetConsoleOutput, called with the
 * sessions' lock held (it must not call back). NULL: not published. */
typedef void (*console_publish_fn)(void *arg, const char *session, const uint8_t *packed, size_t len);
void console_sessions_set_publisher(console_publish_fn fn, void *arg);
/* Stops the sessions' timer and ends every open session (hv-agent stops). */
void console_sessions_stop(struct agent *ag);

void svc_health_check(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_result *);
void svc_health_watch(const struct rpc_call_ctx *, const ProtobufCMessage *, struct rpc_stream *,
		      struct hv_status *);

#endif /* AGENT_H */
