/*
 * rows.c - collecting the rows of a SELECT into a caller-owned array: the one
 * loop behind every store_*_list/history call (store_internal.h), so growth,
 * out-of-memory, sqlite errors and finalizing are handled in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum store_status store_collect_rows(struct store *st, sqlite3_stmt *stmt, size_t elem_size,
				     store_row_fn fill, void *ctx, const char *what, void **out,
				     size_t *n, struct store_err *err)
{
	enum store_status s = STORE_OK;
	unsigned char *v = NULL;
	size_t count = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			size_t nc = cap ? cap * 2 : 8;
			void *p = realloc(v, nc * elem_size);
			if (!p) {
				s = err_set(err, STORE_ENOMEM, "out of memory listing %s", what);
				break;
			}
			v = p;
			cap = nc;
		}
		void *elem = v + count * elem_size;
		memset(elem, 0, elem_size);
		if ((s = fill(stmt, elem, ctx, err)) != STORE_OK)
			break;
		count++;
	}
	if (!s && rc != SQLITE_DONE) {
		char step[96];
		snprintf(step, sizeof step, "listing %s", what);
		s = err_sqlite(err, st->db, rc, step);
	}
	sqlite3_finalize(stmt);
	if (s) {
		free(v);
		return s;
	}
	*out = v;
	*n = count;
	return STORE_OK;
}
