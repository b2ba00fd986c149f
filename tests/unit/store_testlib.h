/* Shared fixtures for the store's unit tests: a fresh mkdtemp directory per test, a raw
 * sqlite connection to tamper with the file behind the store's back, device-tree-shaped
 * blobs, and an assertion for "failed with this status and this message". */
#ifndef HV_STORE_TESTLIB_H
#define HV_STORE_TESTLIB_H

#include <stdint.h>

#include "store.h"

extern char t_dir[]; /* the test's temporary directory */
extern char t_db[];  /* t_dir/hv-agent.db */

/* Criterion .init / .fini: create and remove t_dir. */
void t_setup(void);
void t_teardown(void);

/* store_open(t_db) that must succeed. */
struct store *t_open(void);
/* store_open(t_db) expected to fail; returns the status, fills *e. */
enum store_status t_open_fail(struct store_err *e);

/* Raw sqlite on t_db (no store checks, no triggers disabled unless the SQL says so). */
void t_sql(const char *sql);
int t_sql_rc(const char *sql); /* sqlite result code, for statements meant to fail */
int64_t t_sql_int(const char *sql);

/* A blob with a valid device-tree header (magic, totalsize = len); body filled with
 * fill. Caller frees. */
uint8_t *t_fdt(size_t len, uint8_t fill);
/* Creates a VM with a random uuid; uuid_out may be NULL. */
void t_vm(struct store *st, const char *name, char *uuid_out);

/* Asserts got == want, e->code == want and that e->msg contains substr. */
void t_expect(enum store_status got, const struct store_err *e, enum store_status want,
	      const char *substr);

#endif
