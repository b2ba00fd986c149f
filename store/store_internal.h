/* Declarations shared by the store's source files (and its unit tests), not by users
 * of store.h: the handle, error helpers, the transaction wrapper, the migration list
 * and the audit row hash. */
#ifndef HV_STORE_INTERNAL_H
#define HV_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	char *path;
	/* The vms rows (VM_COLUMNS, ordered by name) as of write generation
	 * vm_cache_gen; store_vm_get and store_vm_list answer from it so a GetVm costs
	 * no sqlite read transaction (docs/store.md "Threading rule"). Guarded by lock. */
	struct store_vm *vm_cache;
	size_t vm_cache_n;
	uint64_t vm_cache_gen;
	bool vm_cache_valid;

	/* The keyed chain (seal.c); all false/zero for a handle from store_open. Guarded
	 * by lock. */
	bool sealed;
	uint8_t key[32];
	char *key_path, *head_path;
	/* A verification finding not yet acknowledged: writes are refused, except the
	 * acknowledgement (ack_in_progress lets its transaction through). */
	bool tampered, ack_in_progress;
	char finding[STORE_ERR_MSG_MAX];
	/* The newest row this handle wrote, for the head file after commit. */
	bool head_dirty;
	uint64_t head_seq;
	uint8_t head_mac[32];
	void (*head_written)(void *ctx, uint64_t seq); /* store_audit_on_head */
	void *head_ctx;

	/* Retention (retain.c): limits on the audit rows kept (0: none), and set while
	 * a fold runs so its own commit does not start another. Guarded by lock. */
	uint64_t retain_rows, retain_bytes;
	bool retaining;
};

/* Process-wide write generation: bumped when any handle in this process begins,
 * commits or rolls back a write transaction (store_tx_*), so a cache filled under
 * an older generation is never used after a write on any handle. */
uint64_t store_write_gen(void);
/* Drops st's VM cache; called with st->lock held (and by store_close). */
void store_vm_cache_drop(struct store *st);

/* err_set formats into err (if not NULL) and returns code. */
enum store_status err_set(struct store_err *err, enum store_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps an sqlite result code to a store_status with "what: sqlite message". */
enum store_status err_sqlite(struct store_err *err, sqlite3 *db, int rc, const char *what);

/* Millisecond Unix time used for every timestamp the store writes. */
int64_t store_now_ms(void);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on st->db. */
enum store_status store_tx_begin(struct store *st, struct store_err *err);
enum store_status store_tx_commit(struct store *st, struct store_err *err);
void store_tx_rollback(struct store *st);

/* Runs call (which sets no transaction itself) inside one IMMEDIATE transaction under
 * the handle's lock, and leaves its status in the caller's variable s. */
#define WRITE_TX(st, err, call)                                                                    \
	do {                                                                                       \
		pthread_mutex_lock(&(st)->lock);                                                   \
		s = store_tx_begin((st), (err));                                                   \
		if (!s) {                                                                          \
			s = (call);                                                                \
			if (s)                                                                     \
				store_tx_rollback(st);                                             \
			else                                                                       \
				s = store_tx_commit((st), (err));                                  \
		}                                                                                  \
		pthread_mutex_unlock(&(st)->lock);                                                 \
	} while (0)

enum store_status store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
				struct store_err *err);

/* Fills elem (zeroed) from the statement's current row; STORE_OK, or a status
 * with err set, which ends the listing. */
typedef enum store_status (*store_row_fn)(sqlite3_stmt *stmt, void *elem, void *ctx,
					  struct store_err *err);
/* Steps stmt to its end, one elem_size element per row filled by fill, into a
 * malloc'd array for *out (NULL when there is no row) and its length for *n;
 * finalizes stmt in every case. what names the rows in errors ("VMs": "out of
 * memory listing VMs"). On failure *out and *n are left alone (rows.c). */
enum store_status store_collect_rows(struct store *st, sqlite3_stmt *stmt, size_t elem_size,
				     store_row_fn fill, void *ctx, const char *what, void **out,
				     size_t *n, struct store_err *err);

/* Argument checks shared by the modules. */
enum store_status check_name(const char *name, struct store_err *err);
enum store_status check_text(const char *what, const char *s, size_t max, bool allow_empty,
			     struct store_err *err);
enum store_status check_uuid(const char *uuid, struct store_err *err);

/* Looks the VM up by name; *id and uuid (may be NULL) are filled. */
enum store_status vm_lookup(struct store *st, const char *name, int64_t *id,
			    char uuid[STORE_UUID_LEN + 1], struct store_err *err);

/* ---- schema migrations (schema.c) ---- */
struct store_migration {
	int version;     /* user_version after this step */
	const char *sql; /* statements run in the migration transaction */
};
extern const struct store_migration store_migrations[];
extern const size_t store_migration_count;
/* Applies every step above the file's user_version, in one transaction. */
enum store_status store_migrate(struct store *st, struct store_err *err);

/* ---- integrity (verify.c) ---- */
/* sqlite's own view: quick_check and foreign_key_check. */
enum store_status store_check_structure(struct store *st, struct store_err *err);
/* Our view: configuration hashes and revision numbering, the audit chain and its head,
 * the fault counters against the chain. */
enum store_status store_check_content(struct store *st, struct store_err *err);
/* The same from audit row start_seq on: rows before it (acknowledged history) are read
 * for the fault counters only. */
enum store_status store_check_content_from(struct store *st, uint64_t start_seq,
					   struct store_err *err);
/* Both of the above. */
enum store_status store_verify_locked(struct store *st, struct store_err *err);

/* ---- audit chain (audit.c) ---- */
void store_sha256(const void *data, size_t len, uint8_t out[32]);
/* SHA-256(prev || canonical encoding of the row), the chain's link. */
void store_audit_row_hash(const uint8_t prev[32], uint64_t seq, int64_t time_ms, const char *caller,
			  const char *role, const char *rpc, const char *args, const char *outcome,
			  uint8_t out[32]);
/* Appends a row inside the caller's open transaction. */
enum store_status store_audit_append_tx(struct store *st, struct store_audit_entry *e,
					struct store_err *err);
/* The same for a row that restarts the keyed chain (seal.c). */
enum store_status store_audit_anchor_tx(struct store *st, struct store_audit_entry *e,
					struct store_err *err);
/* The audit row written for a fault counter increment. */
#define STORE_FAULT_CALLER "hv-agent"
#define STORE_FAULT_ROLE "system"
int store_fault_args(char *buf, size_t size, const char *uuid, const char *kind, uint64_t count);
bool store_fault_args_parse(const char *args, char uuid[STORE_UUID_LEN + 1],
			    char kind[STORE_FAULT_KIND_MAX + 1], uint64_t *count);
enum store_status check_fault_kind(const char *kind, struct store_err *err);

/* store_open with its content check replaced by content (NULL: store_check_content). */
enum store_status store_open_checked(const char *path, struct store **out,
				     enum store_status (*content)(struct store *st,
								  struct store_err *err),
				     struct store_err *err);

/* ---- keyed chain (seal.c) ---- */
/* Rows written by the store that restart the keyed chain (their MAC chains from 32
 * zero bytes): the first row of a sealed database and every acknowledgement. */
#define STORE_SEAL_RPC "audit.seal"
#define STORE_ACK_RPC "audit.acknowledge"
/* HMAC-SHA-256(key, prev_mac || hash). */
void store_audit_mac(const uint8_t key[32], const uint8_t prev_mac[32], const uint8_t hash[32],
		     uint8_t out[32]);
/* Writes the head file for (head_seq, head_mac) when the handle is sealed and a row was
 * appended; called after every commit. A failure leaves the older head file, which the
 * next check accepts (the database may be ahead of its head file, never behind). */
void store_seal_after_commit(struct store *st);
void store_seal_free(struct store *st);

/* ---- fault counters recomputed from the chain (verify.c) ---- */
struct fault_expect {
	char uuid[STORE_UUID_LEN + 1];
	char kind[STORE_FAULT_KIND_MAX + 1];
	uint64_t count;
	uint64_t seq;
	bool seen;
};

struct fault_set {
	struct fault_expect *v;
	size_t n, cap;
};

/* Folds a "store.fault" row (seq, args) into fs: its count must be one more. */
enum store_status store_fault_fold(struct fault_set *fs, uint64_t seq, const char *args,
				   struct store_err *err);
/* Sets a counter outright (from a checkpoint); STORE_ENOMEM or STORE_OK. */
enum store_status store_fault_set_put(struct fault_set *fs, const char *uuid, const char *kind,
				      uint64_t count, uint64_t seq, struct store_err *err);

/* ---- checkpoints (retain.c) ---- */
/* The newest checkpoint: audit rows first..last were folded into it. counts and faults
 * are its texts ("rpc=n" and "uuid/kind=count@seq", space separated); hash and mac are
 * the chain's at row last; tag is HMAC-SHA-256 with the audit key over all of it. */
struct store_cp {
	bool found;
	uint64_t first, last;
	int64_t time_ms;
	char *counts, *faults;
	uint8_t hash[32], mac[32], tag[32];
};
/* cp->found is false when there is no checkpoint (or no table for them yet). */
enum store_status store_cp_load(struct store *st, struct store_cp *cp, struct store_err *err);
void store_cp_free(struct store_cp *cp);
void store_cp_tag(const uint8_t key[32], const struct store_cp *cp, uint8_t out[32]);
/* Seeds fs with the checkpoint's fault counters; STORE_ETAMPER when malformed. */
enum store_status store_cp_seed_faults(const struct store_cp *cp, struct fault_set *fs,
				       struct store_err *err);
/* Called after every commit: folds when a retention limit is exceeded. */
void store_retain_after_commit(struct store *st);

/* ---- configuration blobs (config.c) ---- */
enum store_status check_fdt_blob(const void *blob, size_t len, struct store_err *err);

#endif
