/* status.c - errors as values: the code table and message helpers (status.h). */
#include "status.h"

#include <stdio.h>
#include <string.h>

void hv_status_ok(struct hv_status *st)
{
	if (!st)
		return;
	st->code = HV_OK;
	st->msg[0] = '\0';
}

int hv_status_vset(struct hv_status *st, enum hv_code code, const char *fmt, va_list ap)
{
	if (!st)
		return -1;
	st->code = code;
	vsnprintf(st->msg, sizeof st->msg, fmt, ap);
	return -1;
}

int hv_status_set(struct hv_status *st, enum hv_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hv_status_vset(st, code, fmt, ap);
	va_end(ap);
	return -1;
}

void hv_status_prefix(struct hv_status *st, const char *fmt, ...)
{
	char pre[HV_STATUS_MSG_LEN], old[HV_STATUS_MSG_LEN];
	va_list ap;

	if (!st)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, st->msg, sizeof old);
	size_t n = strlen(pre);
	if (n >= sizeof st->msg)
		n = sizeof st->msg - 1;
	memcpy(st->msg, pre, n);
	size_t m = strnlen(old, sizeof old);
	if (m > sizeof st->msg - 1 - n)
		m = sizeof st->msg - 1 - n;
	memcpy(st->msg + n, old, m);
	st->msg[n + m] = '\0';
}

const char *hv_code_name(int code)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};
	static _Thread_local char other[24];

	if (code >= 0 && (unsigned)code < sizeof names / sizeof names[0])
		return names[code];
	snprintf(other, sizeof other, "CODE_%d", code);
	return other;
}
