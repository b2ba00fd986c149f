/*
 * store_status.c - the store's result codes as RPC status codes: the one
 * table (store_status.h).
 */
#include "store_status.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	enum store_status store;
	enum hv_code code;
} table[] = {
	{ STORE_OK, HV_OK },
	{ STORE_EINVAL, HV_INVALID_ARGUMENT },
	{ STORE_ENOTFOUND, HV_NOT_FOUND },
	{ STORE_EEXIST, HV_ALREADY_EXISTS },
	/* The file or a hash chain no longer holds what was written. */
	{ STORE_ECORRUPT, HV_DATA_LOSS },
	{ STORE_ETAMPER, HV_DATA_LOSS },
	/* The store could not do its work (docs/api.md: INTERNAL names the step). */
	{ STORE_ESCHEMA, HV_INTERNAL },
	{ STORE_EIO, HV_INTERNAL },
	{ STORE_ENOMEM, HV_INTERNAL },
};

enum hv_code status_code_from_store(enum store_status s)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].store == s)
			return table[i].code;
	return HV_INTERNAL;
}

int status_from_store(struct hv_status *st, const struct store_err *e, const char *fmt, ...)
{
	char what[HV_STATUS_MSG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return hv_status_set(st, status_code_from_store(e->code), "%s: %s", what, e->msg);
}
