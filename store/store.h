/* hv-agent's persistent store: VMs, their configuration revisions, desired state, the
 * hash-chained audit log, fault counters and OTA image slots, in one sqlite file.
 * (REQ-PRD-04, REQ-SAF-14, REQ-SAF-16, REQ-SAF-15.6; see docs/store.md.)
 *
 * Errors are values: every function returns a store_status and, when err is not NULL,
 * fills err->msg with a sentence naming what was wrong. Nothing here aborts. A failed
 * call changes nothing in the database.
 *
 * Threading: a struct store may be shared by any number of threads; each call takes the
 * handle's mutex, so calls on one handle run one at a time. Threads (or processes) may
 * instead open their own handle on the same file; sqlite's WAL locking and the busy
 * timeout serialize the writers, and every write is one IMMEDIATE transaction, so the
 * audit chain stays linear either way. Memory returned by the store belongs to the
 * caller and is released with the matching *_free function.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum store_status {
	STORE_OK = 0,
	STORE_EINVAL,    /* an argument is invalid (NULL, empty, too long, malformed) */
	STORE_ENOTFOUND, /* no such VM, revision, slot */
	STORE_EEXIST,    /* a VM with that name or uuid already exists */
	STORE_ECORRUPT,  /* the file is not a healthy database of ours */
	STORE_ETAMPER,   /* the audit chain, a fault counter or a stored hash does not verify */
	STORE_ESCHEMA,   /* schema from a newer build, or not an hv-agent database */
	STORE_EIO,       /* sqlite or the file system failed (disk full, I/O error, busy) */
	STORE_ENOMEM,
};

#define STORE_ERR_MSG_MAX 256
struct store_err {
	enum store_status code;
	char msg[STORE_ERR_MSG_MAX];
};

/* Limits on what callers may store; longer input is rejected with STORE_EINVAL. */
#define STORE_NAME_MAX 63    /* VM name: [A-Za-z0-9][A-Za-z0-9._-]* */
#define STORE_UUID_LEN 36    /* canonical 8-4-4-4-12 lower-case hex */
#define STORE_AUTHOR_MAX 127 /* caller identity (certificate CN, unix user) */
#define STORE_ROLE_MAX 31
#define STORE_RPC_MAX 63
#define STORE_ARGS_MAX 4096
#define STORE_OUTCOME_MAX 255
#define STORE_FAULT_KIND_MAX 31     /* [a-z0-9_-]+ */
#define STORE_CONFIG_MAX (1u << 20) /* VM configuration device-tree blob */

/* The schema version this build writes; older files are migrated on open. */
#define STORE_SCHEMA_VERSION 6
/* PRAGMA application_id of every hv-agent database: "HVAG". */
#define STORE_APPLICATION_ID 0x48564147

const char *store_status_name(enum store_status s);

/* ---- open / close ---------------------------------------------------------------- */

struct store;

/* Opens the database at path, creating it if the file does not exist (created under a
 * temporary name and renamed into place, so a crash never leaves a half-made file).
 * Checks integrity before returning: sqlite quick_check, foreign keys, application_id,
 * schema version, the audit chain, the fault counters and every configuration hash.
 * Migrates an older schema to STORE_SCHEMA_VERSION. Any failure leaves *out NULL. */
enum store_status store_open(const char *path, struct store **out, struct store_err *err);
void store_close(struct store *st);

/* Runs the integrity checks of store_open again (for a periodic self-check). */
enum store_status store_verify(struct store *st, struct store_err *err);

/* ---- VMs -------------------------------------------------------------------------- */

enum store_vm_state {
	STORE_VM_STOPPED = 0,
	STORE_VM_RUNNING,
	STORE_VM_PAUSED,
};
const char *store_vm_state_name(enum store_vm_state s);

struct store_vm {
	char name[STORE_NAME_MAX + 1];
	char uuid[STORE_UUID_LEN + 1];
	int64_t created_ms; /* Unix time, milliseconds */
	enum store_vm_state desired;
	bool autostart;
	uint32_t latest_rev; /* 0 when no configuration was stored yet */
};

/* Fills out with a fresh random (version 4) uuid. */
enum store_status store_uuid_generate(char out[STORE_UUID_LEN + 1], struct store_err *err);

enum store_status store_vm_create(struct store *st, const char *name, const char *uuid,
				  struct store_err *err);
/* Removes the VM, its configuration history and image slots. Its fault counters and
 * audit rows stay (they are diagnostic history, REQ-SAF-16). */
enum store_status store_vm_delete(struct store *st, const char *name, struct store_err *err);
enum store_status store_vm_get(struct store *st, const char *name, struct store_vm *out,
			       struct store_err *err);
/* All VMs ordered by name; *out is NULL when n is 0. */
enum store_status store_vm_list(struct store *st, struct store_vm **out, size_t *n,
				struct store_err *err);
void store_vm_list_free(struct store_vm *list);
enum store_status store_vm_set_desired(struct store *st, const char *name,
				       enum store_vm_state desired, struct store_err *err);
enum store_status store_vm_set_autostart(struct store *st, const char *name, bool autostart,
					 struct store_err *err);

/* ---- configuration revisions ------------------------------------------------------ */

struct store_config_rev {
	uint32_t rev; /* 1, 2, 3 ... per VM */
	int64_t time_ms;
	char author[STORE_AUTHOR_MAX + 1];
	uint8_t sha256[32];
	uint32_t rollback_of; /* revision copied by a rollback, else 0 */
	uint8_t *blob;        /* NULL in history listings */
	size_t len;
};

/* Stores blob (a flattened device tree: magic and totalsize are checked) as the VM's
 * next revision; every revision is kept. */
enum store_status store_config_add(struct store *st, const char *vm, const void *blob, size_t len,
				   const char *author, uint32_t *rev_out, struct store_err *err);
/* Revision rev of the VM, or the latest when rev is 0. The blob's sha256 is checked
 * against the stored one (STORE_ETAMPER on mismatch). Free with store_config_rev_free. */
enum store_status store_config_get(struct store *st, const char *vm, uint32_t rev,
				   struct store_config_rev *out, struct store_err *err);
void store_config_rev_free(struct store_config_rev *r);
/* All revisions, oldest first, without blobs. */
enum store_status store_config_history(struct store *st, const char *vm,
				       struct store_config_rev **out, size_t *n,
				       struct store_err *err);
void store_config_history_free(struct store_config_rev *list);
/* Adds a new revision whose blob is a copy of revision rev (history is never rewritten). */
enum store_status store_config_rollback(struct store *st, const char *vm, uint32_t rev,
					const char *author, uint32_t *rev_out, struct store_err *err);

/* ---- audit log (REQ-SAF-16) -------------------------------------------------------- */

struct store_audit_entry {
	uint64_t seq;        /* 1, 2, 3 ... (set by the store) */
	int64_t time_ms;     /* set by the store */
	const char *caller;  /* identity, e.g. certificate CN or uid */
	const char *role;    /* admin, operator, viewer, system */
	const char *rpc;     /* e.g. "hvmgr.v1.Vm/Start" */
	const char *args;    /* printable summary of the arguments */
	const char *outcome; /* e.g. "ok" or the error returned */
	uint8_t hash[32];    /* SHA-256(previous hash || row contents) */
};

/* Appends one row to the chain; seq, time_ms and hash are filled in *e. */
enum store_status store_audit_append(struct store *st, struct store_audit_entry *e,
				     struct store_err *err);
/* Up to max rows (0: no limit) with seq >= from_seq, oldest first. The strings live in the
 * returned array's allocation; free with store_audit_list_free. */
enum store_status store_audit_list(struct store *st, uint64_t from_seq, size_t max,
				   struct store_audit_entry **out, size_t *n, struct store_err *err);
void store_audit_list_free(struct store_audit_entry *list);

/* ---- the keyed audit chain (REQ-SAF-16, docs/security.md) ------------------------- */

struct store_seal {
	const char *key_path;  /* HMAC-SHA-256 key: 32 bytes, mode 0600, made on first start */
	const char *head_path; /* the chain's head (seq and MAC), outside the database */
};

/* Opens like store_open, and keeps the audit chain keyed: every row gets a MAC, and the
 * head file follows every commit. The key is created (with a first "audit.seal" row)
 * when neither it nor a head file nor a keyed row exists. Tampering (rows removed from
 * the tail, a row rewritten with its successors, an older database put back, the key or
 * the head file removed or altered) does not fail the open: the handle is returned with
 * a finding (store_audit_tampered), a copy of the database as found is kept next to it
 * (PATH.evidence-<ms>), and every write fails with STORE_ETAMPER until
 * store_audit_acknowledge. A bad key file (mode other than owner-only, wrong size) and
 * sqlite-level damage fail the open as store_open does. */
enum store_status store_open_sealed(const char *path, const struct store_seal *seal,
				    struct store **out, struct store_err *err);
/* True while a finding is unacknowledged; finding (may be NULL) gets its message,
 * which names the first bad sequence number. */
bool store_audit_tampered(struct store *st, struct store_err *finding);
/* Checks the chain, its MACs and the head file again; STORE_ETAMPER with the finding
 * (which then stands until acknowledged). */
enum store_status store_audit_verify(struct store *st, struct store_err *err);
/* Records the finding as an "audit.acknowledge" row by caller (a new key first, when the
 * key was lost), from which the keyed chain restarts, and lifts the write refusal.
 * STORE_EINVAL when there is nothing to acknowledge. */
enum store_status store_audit_acknowledge(struct store *st, const char *caller, const char *role,
					  uint64_t *seq_out, struct store_err *err);

/* fn(ctx, seq) is called with the head's sequence after each later head file write
 * (under the handle's lock: it must not call the store). */
void store_audit_on_head(struct store *st, void (*fn)(void *ctx, uint64_t seq), void *ctx);
/* The sequence of the newest audit row (0 when none). */
uint64_t store_audit_newest_seq(struct store *st);
/* A finding from outside the database (e.g. hv-core holds a newer audit sequence than
 * the log: database and head file were put back together): it stands like one found at
 * open, writes are refused until store_audit_acknowledge. */
void store_audit_report(struct store *st, const char *finding);

/* ---- retention: checkpoints (REQ-SAF-16, docs/store.md "Retention") --------------- */

/* hv-agent's defaults (--audit-max-rows, --audit-max-bytes). */
#define STORE_RETAIN_ROWS_DEFAULT 100000u
#define STORE_RETAIN_BYTES_DEFAULT (256u << 20)
/* Smallest non-zero limits accepted. */
#define STORE_RETAIN_ROWS_MIN 16u
#define STORE_RETAIN_BYTES_MIN (1u << 20)
/* The audit row that records a fold (caller "hv-agent", role "system"). */
#define STORE_CHECKPOINT_RPC "audit.checkpoint"

/* Bounds the audit log of a handle from store_open_sealed (EINVAL for one from
 * store_open; no fold runs while a finding stands): after any commit that leaves more than
 * max_rows audit rows, or a database whose used pages exceed max_bytes, the oldest rows
 * are folded into the checkpoint until half the limit is left (0: no such limit). The
 * checkpoint keeps the folded range, the number of rows per rpc, the fault counters
 * (so they outlive their rows) and the chain's hash and MAC at its last row, with a MAC
 * of its own made with the audit key; verification starts from it. A fold is one
 * transaction that also appends a STORE_CHECKPOINT_RPC row. Only audit rows are
 * folded: configuration revisions count towards max_bytes but are never removed. */
enum store_status store_retention_set(struct store *st, uint64_t max_rows, uint64_t max_bytes,
				      struct store_err *err);
/* Folds now when a limit is exceeded; *folded (may be NULL) gets the rows folded. */
enum store_status store_audit_retain(struct store *st, uint64_t *folded, struct store_err *err);

struct store_checkpoint {
	uint64_t first_seq, last_seq; /* audit rows folded, in all */
	int64_t time_ms;              /* of the newest fold */
};
/* The checkpoint; *found is false when no row was ever folded. */
enum store_status store_audit_checkpoint(struct store *st, struct store_checkpoint *out,
					 bool *found, struct store_err *err);

/* What retention folded of the fault history: the checkpoint's range, how many of its
 * rows were fault history rows, and the fault counters as of its last row (per VM uuid
 * and kind). */
struct store_fold_fault {
	char vm_uuid[STORE_UUID_LEN + 1];
	char kind[STORE_FAULT_KIND_MAX + 1];
	uint64_t count;
};
struct store_fold_summary {
	uint64_t first_seq, last_seq; /* audit rows folded, in all */
	int64_t time_ms;              /* of the newest fold */
	uint64_t fault_rows, gap_rows, mark_rows;
	struct store_fold_fault *faults;
	size_t n_faults;
};
/* *found is false when no row was ever folded (out is then zeroed). Free with
 * store_fold_summary_free. */
enum store_status store_fault_folded(struct store *st, struct store_fold_summary *out, bool *found,
				     struct store_err *err);
void store_fold_summary_free(struct store_fold_summary *s);

/* ---- fault counters (REQ-SAF-16) --------------------------------------------------- */

struct store_fault {
	char kind[STORE_FAULT_KIND_MAX + 1];
	uint64_t count;
};

/* Adds one to the VM's counter of this kind and records the increment in the audit
 * chain in the same transaction; *count_out (may be NULL) receives the new value. */
enum store_status store_fault_increment(struct store *st, const char *vm, const char *kind,
					uint64_t *count_out, struct store_err *err);
/* Current value; 0 for a kind never counted. */
enum store_status store_fault_get(struct store *st, const char *vm, const char *kind,
				  uint64_t *count, struct store_err *err);
/* All counters of the VM, ordered by kind. */
enum store_status store_fault_list(struct store *st, const char *vm, struct store_fault **out,
				   size_t *n, struct store_err *err);
void store_fault_list_free(struct store_fault *list);

/* ---- fault history (REQ-SAF-16, docs/store.md "Fault history") --------------------- */

/* The fault history is kept in the audit chain (caller "hv-agent", role "system"), so it
 * is protected exactly as the chain is. Its rows, by rpc: */
#define STORE_FAULT_RPC "store.fault"           /* a fault counter went up (an event)   */
#define STORE_FAULT_GAP_RPC "store.fault.gap"   /* events were lost, and why            */
#define STORE_FAULT_MARK_RPC "store.fault.mark" /* how far the events were read         */

/* Persists one FAULT or WATCHDOG event of hv-core: the counter (vm_uuid, kind) goes up by
 * one and a "store.fault" row records it (args "vm=<uuid> kind=<kind> count=<n>", which
 * verification folds into the counters; outcome `detail`, printable, at most
 * STORE_OUTCOME_MAX), in one transaction. The VM need not be stored. */
enum store_status store_fault_event(struct store *st, const char *vm_uuid, const char *kind,
				    const char *detail, uint64_t *count_out, struct store_err *err);
/* Appends a STORE_FAULT_GAP_RPC or STORE_FAULT_MARK_RPC row with outcome `detail`. */
enum store_status store_fault_note(struct store *st, const char *rpc, const char *detail,
				   struct store_err *err);
/* The newest max rows (0: all) of the fault history, oldest first; free with
 * store_audit_list_free. */
enum store_status store_fault_history(struct store *st, size_t max, struct store_audit_entry **out,
				      size_t *n, struct store_err *err);

/* ---- image slots (for OTA, REQ-SAF-15) -------------------------------------------- */

enum store_slot_id {
	STORE_SLOT_A = 0,
	STORE_SLOT_B = 1
};

enum store_slot_state {
	STORE_SLOT_EMPTY = 0,
	STORE_SLOT_WRITING, /* image being written */
	STORE_SLOT_READY,   /* written and verified, not booted */
	STORE_SLOT_TRIAL,   /* booted once, waiting for confirmation */
	STORE_SLOT_ACTIVE,  /* confirmed, the slot the VM boots */
	STORE_SLOT_FAILED,  /* trial failed or verification failed */
};
const char *store_slot_state_name(enum store_slot_state s);

struct store_slot {
	enum store_slot_id slot;
	uint64_t version; /* anti-rollback version, <= INT64_MAX */
	uint8_t sha256[32];
	enum store_slot_state state;
	int64_t updated_ms; /* set by the store */
};

/* Creates or replaces the slot record (s->slot selects A or B). */
enum store_status store_slot_set(struct store *st, const char *vm, const struct store_slot *s,
				 struct store_err *err);
/* STORE_ENOTFOUND when the slot was never set. */
enum store_status store_slot_get(struct store *st, const char *vm, enum store_slot_id slot,
				 struct store_slot *out, struct store_err *err);

/* ---- commands waiting for the safety policy (migration "pending_ops") ------------ */

enum store_pending_state {
	STORE_PENDING = 0,
	STORE_PENDING_DONE,
	STORE_PENDING_FAILED,
	STORE_PENDING_CANCELLED,
};
const char *store_pending_state_name(enum store_pending_state s);

#define STORE_PENDING_OP_MAX 15

struct store_pending {
	uint64_t id;                       /* 1, 2, 3 ... never reused */
	char op[STORE_PENDING_OP_MAX + 1]; /* "shutdown", "destroy", ... */
	char vm_name[STORE_NAME_MAX + 1];
	char vm_uuid[STORE_UUID_LEN + 1];
	uint64_t arg; /* shutdown: timeout_ms */
	char caller[STORE_AUTHOR_MAX + 1];
	int64_t queued_ms;
	enum store_pending_state state;
	int64_t finished_ms; /* 0 while pending */
	char outcome[STORE_OUTCOME_MAX + 1];
};

/* Queues a command (state pending); *id gets its number. op is [a-z]+, vm_name a VM
 * name, vm_uuid a canonical uuid; outcome says why it waits (may be empty). */
enum store_status store_pending_add(struct store *st, const char *op, const char *vm_name,
				    const char *vm_uuid, uint64_t arg, const char *caller,
				    const char *outcome, uint64_t *id, struct store_err *err);
/* The pending commands oldest first, or (all) every command newest first, at most
 * max of them; *out is NULL when n is 0. */
enum store_status store_pending_list(struct store *st, bool all, size_t max,
				     struct store_pending **out, size_t *n, struct store_err *err);
void store_pending_list_free(struct store_pending *list);
enum store_status store_pending_get(struct store *st, uint64_t id, struct store_pending *out,
				    struct store_err *err);
/* Ends a pending command with state (done, failed or cancelled) and its outcome.
 * STORE_ENOTFOUND when there is no such command; STORE_EINVAL when it is not pending
 * any more (the message names the state it ended in). */
enum store_status store_pending_finish(struct store *st, uint64_t id, enum store_pending_state state,
				       const char *outcome, struct store_err *err);

#ifdef __cplusplus
}
#endif
#endif
