/*
 * store_status.h - the store's result codes (store.h) as RPC status codes.
 *
 * Every part of hv-agent that reports a failed store call to a client, or
 * through reconciliation, takes its code from the one table in
 * store_status.c (docs/api.md, "Errors"):
 *
 *   STORE_EINVAL     INVALID_ARGUMENT   STORE_ECORRUPT  DATA_LOSS
 *   STORE_ENOTFOUND  NOT_FOUND          STORE_ETAMPER   DATA_LOSS
 *   STORE_EEXIST     ALREADY_EXISTS     anything else   INTERNAL
 *
 * Layer: above common and the store, below reconciliation and the services
 * (agent/CMakeLists.txt). Free of protobuf and of hvlink.
 */
#ifndef STORE_STATUS_H
#define STORE_STATUS_H

#include "status.h"
#include "store.h"

/* The RPC code for a store result (HV_OK for STORE_OK). */
enum hv_code status_code_from_store(enum store_status s);

/* Sets st from a failed store call: the code from the table, the message
 * "<printf(fmt, ...)>: <e->msg>". Returns -1. */
int status_from_store(struct hv_status *st, const struct store_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* STORE_STATUS_H */
