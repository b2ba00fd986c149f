/*
 * status.h - errors as values for hv-agent and hvctl.
 *
 * A status is a code plus a message that names what was wrong. The codes are
 * the canonical RPC status codes (same names and numbers as gRPC's), so that a
 * status produced deep inside hvlink travels unchanged to a client, while the
 * modules that produce it never include gRPC headers.
 */
#ifndef HV_STATUS_H
#define HV_STATUS_H

#include <stdarg.h>

enum hv_code {
	HV_OK = 0,
	HV_CANCELLED = 1,
	HV_UNKNOWN = 2,
	HV_INVALID_ARGUMENT = 3,
	HV_DEADLINE_EXCEEDED = 4,
	HV_NOT_FOUND = 5,
	HV_ALREADY_EXISTS = 6,
	HV_PERMISSION_DENIED = 7,
	HV_RESOURCE_EXHAUSTED = 8,
	HV_FAILED_PRECONDITION = 9,
	HV_ABORTED = 10,
	HV_OUT_OF_RANGE = 11,
	HV_UNIMPLEMENTED = 12,
	HV_INTERNAL = 13,
	HV_UNAVAILABLE = 14,
	HV_DATA_LOSS = 15,
	HV_UNAUTHENTICATED = 16
};

#define HV_STATUS_MSG_LEN 256

struct hv_status {
	enum hv_code code;
	char msg[HV_STATUS_MSG_LEN];
};

/* Reset to OK with an empty message. */
void hv_status_ok(struct hv_status *st);

/* Set code and printf-style message. Always returns -1 so that error paths
 * read `return hv_status_set(st, HV_NOT_FOUND, "...");`. st may be NULL. */
int hv_status_set(struct hv_status *st, enum hv_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int hv_status_vset(struct hv_status *st, enum hv_code code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefix the message with context ("start vm1: " + old message). */
void hv_status_prefix(struct hv_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "NOT_FOUND", "UNAVAILABLE", ...; "CODE_<n>" for numbers outside the table. */
const char *hv_code_name(int code);

#endif /* HV_STATUS_H */
