/*
 * hvctl.h - what hvctl's command files share: the command table entry, the
 * session (connection, options), option parsing, output helpers.
 */
#ifndef HVCTL_H
#define HVCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "status.h"

/* Exit statuses: 0 done, 1 the operation failed (agent unreachable, VM
 * unknown, refused), 2 the command line was wrong. */
#define HVCTL_OK 0
#define HVCTL_FAIL 1
#define HVCTL_USAGE 2

#define HVCTL_CALL_TIMEOUT_MS 30000u

struct hvctl;

struct hvctl_cmd {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line for `hvctl help` */
	int (*fn)(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv);
};

struct hvctl {
	const char *connect;
	struct hvc *conn;
};

/* Connects on first use; prints the reason and returns NULL on failure. */
struct hvc *hvctl_conn(struct hvctl *h);

/* "hvctl: VERB: message [CODE]" on stderr; returns HVCTL_FAIL. */
int hvctl_fail(const char *verb, const struct hv_status *st);
/* "hvctl: VERB: message" + usage line on stderr; returns HVCTL_USAGE. */
int hvctl_usage(const struct hvctl_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options of one command. Flags take no value; values are strings. */
struct hvctl_opt {
	const char *name;    /* without the leading "--" */
	bool takes_value;
	bool *flag;
	const char **value;
};

/* Parses argv (after the command name): options anywhere, "--" ends them.
 * Positional arguments go to pos[] (at most max_pos of them, at least
 * min_pos). Prints a usage error and returns -1 on anything unexpected. */
int hvctl_parse(const struct hvctl_cmd *cmd, int argc, char **argv, const struct hvctl_opt *opts,
		const char **pos, int min_pos, int max_pos, int *npos);

/* A VM argument as virsh reads it: all digits = id, a uuid = uuid, else name. */
void hvctl_selector(Hvmgr__V1__VmSelector *sel, const char *arg);

/* ---- format.c ---- */
const char *fmt_state(int state);      /* "running", "shut off", ...  */
const char *fmt_reason(int reason);    /* "booted", "destroyed", ...  */
const char *fmt_event(int type);       /* "Started", "Stopped", ...   */
const char *fmt_criticality(int c);    /* "QM", "ASIL-B", ...         */
const char *fmt_guest_state(int g);    /* "running", "booting", ...   */
const char *fmt_fault_kind(int k);     /* "stage2-abort", ...         */
void fmt_cpuset(uint64_t mask, char *buf, size_t len); /* "0-1,3" */

/* virsh's table layout: " Id   Name   State" and a dashed line. */
struct fmt_table;
struct fmt_table *fmt_table_new(int ncols, const char *const *header);
void fmt_table_row(struct fmt_table *t, const char *const *cells);
void fmt_table_print(struct fmt_table *t);
void fmt_table_free(struct fmt_table *t);

json_t *json_vm(const Hvmgr__V1__Vm *vm);
/* Prints j (2-space indent, keys in insertion order) and drops the reference. */
void json_print(json_t *j);

#endif /* HVCTL_H */
